//! What `browse` shows, gathered as the run goes: a short row and a search text per call in memory,
//! each call's detail (verdict, ladder, media) and JSON object on disk (`report::spool::Store`), and
//! the run's summary with its overview.
//!
//! Memory is one row per call (about 200 bytes: 20 MB for 100 000 calls) plus the store's places;
//! everything longer is read back when a call is opened.

use std::io;

use callscope::analysis::{Output, Summary};
use callscope::correlate::calls::OtherDialog;
use callscope::correlate::media::Stream;
use callscope::correlate::transport::{Connection, IcmpError};
use callscope::diagnose::{DiagnosedCall, Severity, Sink, TransportEvent};
use callscope::report::json::NdjsonWriter;
use callscope::report::spool::Store;
use callscope::report::text;

/// One call of the list.
pub struct Entry {
    /// 0-based, as the library numbers calls.
    pub index: usize,
    pub call_id: String,
    pub worst: Option<Severity>,
    pub line: String,
    pub search: String,
    /// Where its detail and its JSON are in the store.
    detail: usize,
    json: usize,
}

impl Entry {
    /// Worst first, then by number.
    fn order(&self) -> (u8, usize) {
        let rank = match self.worst {
            Some(Severity::Error) => 0,
            Some(Severity::Warning) => 1,
            Some(Severity::Info) => 2,
            None => 3,
        };
        (rank, self.index)
    }
}

/// The run as `browse` keeps it.
#[derive(Default)]
pub struct Run {
    pub entries: Vec<Entry>,
    store: Store,
    pub summary: Summary,
    error: Option<io::Error>,
}

impl Run {
    /// A call's detail: its verdict, its ladder and its media, as text lines.
    pub fn detail(&mut self, entry: usize) -> io::Result<String> {
        let at = self.entries[entry].detail;
        Ok(String::from_utf8_lossy(&self.store.get(at)?).into_owned())
    }

    /// A call's JSON object (as in `--ndjson`).
    pub fn json(&mut self, entry: usize) -> io::Result<Vec<u8>> {
        let at = self.entries[entry].json;
        self.store.get(at)
    }
}

impl Sink for Run {
    fn call(&mut self, d: &DiagnosedCall) {
        let options = text::Options::default();
        let mut detail = Vec::new();
        let written = text::write_verdict(d, &options, &mut detail)
            .and_then(|()| text::write_flow(d, d.index + 1, &mut detail));
        let mut line = Vec::new();
        let mut writer = NdjsonWriter::new(&mut line);
        writer.call(d);
        let json = writer.finish(Summary::default()).map(|()| line);
        match (written, json) {
            (Ok(()), Ok(json)) => {
                let detail = self.store.push(&detail);
                let json = self.store.push(&json);
                self.entries.push(Entry {
                    index: d.index,
                    call_id: d.call_id.clone(),
                    worst: d.worst(),
                    line: text::short_row(d),
                    search: text::search_text(d),
                    detail,
                    json,
                });
            }
            (Err(e), _) | (_, Err(e)) => {
                self.error.get_or_insert(e);
            }
        }
    }
    fn other(&mut self, _: &OtherDialog) {}
    fn stream(&mut self, _: &Stream) {}
    fn connection(&mut self, _: &Connection) {}
    fn transport_event(&mut self, _: &TransportEvent) {}
}

impl Output for Run {
    fn icmp_error(&mut self, _: &IcmpError) {}
    fn finish(&mut self, summary: Summary) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.entries.sort_by_key(Entry::order);
        self.summary = summary;
        Ok(())
    }
}
