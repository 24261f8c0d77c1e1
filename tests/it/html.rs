//! The HTML report: complete and self-contained on a recorded capture, safe against markup in a
//! capture, and rendered by a real headless browser (Chromium) into a picture that is not blank.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callscope::capture::CaptureFile;
use callscope::report::html::{self, PAGE_ROWS};
use callscope::Analysis;

use crate::support;
use crate::support::synth;

fn analyze_file(path: &str) -> Analysis {
    let file = CaptureFile::open(Path::new(path)).expect("a testdata capture");
    support::analyze_with(&[file], 1 << 20, 2)
}

fn render(analysis: &Analysis) -> String {
    let mut out = Vec::new();
    html::write(analysis, &mut out).expect("write to a Vec");
    String::from_utf8(out).expect("the report is UTF-8")
}

/// Fails when the page refers to anything outside itself.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    for needle in [
        "http://", "https://", "src=\"//", "src=", "<link", "<img", "<iframe", "<object", "<embed",
        "@import", "url(", "ftp://", "file:",
    ] {
        assert!(
            !lower.contains(needle),
            "the report refers outside itself: {needle:?}"
        );
    }
    for (k, _) in lower.match_indices("href=\"") {
        let target = &lower[k + 6..];
        assert!(
            target.starts_with('#'),
            "a link leaves the page: {:?}",
            &target[..target.len().min(40)]
        );
    }
    // Scripts are inline, without attributes, but for the call table's data: a JSON data block,
    // which the browser never runs.
    for (k, _) in lower.match_indices("<script") {
        let tag = &lower[k..];
        assert!(
            tag.starts_with("<script>")
                || tag.starts_with("<script type=\"application/json\" id=\"calls-data\">"),
            "a script tag with attributes: {:?}",
            &tag[..tag.len().min(40)]
        );
    }
}

fn assert_balanced(page: &str) {
    for tag in [
        "svg", "section", "table", "figure", "main", "html", "details",
    ] {
        assert_eq!(
            page.matches(&format!("<{tag}")).count(),
            page.matches(&format!("</{tag}>")).count(),
            "unbalanced <{tag}>"
        );
    }
}

#[test]
fn proxy_504_report_has_table_ladder_findings_and_no_external_reference() {
    let analysis = analyze_file("testdata/lab/tcp-syn-dropped-proxy.pcap");
    assert_eq!(analysis.calls.len(), 2);
    let page = render(&analysis);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("id=\"call-table\""), "the call table");
    assert!(page.contains("href=\"#call-1\"") && page.contains("id=\"call-1\""));
    assert!(page.contains("href=\"#call-2\"") && page.contains("id=\"call-2\""));
    assert!(
        page.contains("<figure class=\"ladder\"><svg"),
        "a ladder diagram"
    );
    assert!(page.contains("504 Server Time-out"));
    assert!(page.contains("tcp-syn-dropped-proxy.pcap"));
    // The failed call comes first in the table.
    let table = &page[page.find("id=\"call-table\"").expect("the table")..];
    assert!(
        table.find("href=\"#call-1\"") < table.find("href=\"#call-2\""),
        "failed call first"
    );
    // Every finding code of the analysis is on the page.
    let codes = analysis
        .calls
        .iter()
        .flat_map(|c| &c.findings)
        .map(|f| f.code)
        .chain(analysis.transport_events.iter().map(|e| e.code));
    for code in codes {
        assert!(page.contains(code), "finding code {code} missing");
    }
    // The TCP handshake of the SIP-over-TCP leg of call 2 is on its ladder; the SYNs towards app1,
    // which the diagnosis ties to call 1, are on call 1's, highlighted as evidence.
    assert!(page.contains("TCP SYN, ACK"));
    assert!(page.contains("TCP SYN (retry 6)"));
    assert!(page.contains("fill=\"#fee2e2\""), "evidence highlighted");
    // Media of call 2: figures and a plot.
    assert!(page.contains("PCMU"));
    assert!(page.contains("aria-label=\"jitter and gaps over time\""));
    assert_self_contained(&page);
    assert_balanced(&page);
}

#[test]
fn every_lab_capture_renders_self_contained() {
    let mut entries: Vec<PathBuf> = std::fs::read_dir("testdata/lab")
        .expect("testdata/lab")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty());
    for path in entries {
        let page = render(&analyze_file(&path.to_string_lossy()));
        assert_self_contained(&page);
        assert_balanced(&page);
    }
}

const SCRIPT: &str = "<script>alert(1)</script>";

#[test]
fn markup_from_the_capture_is_escaped() {
    let invite = format!(
        "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         From: \"{SCRIPT}\" <sip:alice@192.0.2.1>;tag=a1\r\n\
         To: <sip:bob@192.0.2.2>\r\n\
         Call-ID: {SCRIPT}@192.0.2.1\r\n\
         CSeq: 1 INVITE\r\n\
         User-Agent: {SCRIPT}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let reject = format!(
        "SIP/2.0 486 {SCRIPT}\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n\
         From: \"{SCRIPT}\" <sip:alice@192.0.2.1>;tag=a1\r\n\
         To: <sip:bob@192.0.2.2>;tag=b1\r\n\
         Call-ID: {SCRIPT}@192.0.2.1\r\n\
         CSeq: 1 INVITE\r\n\
         Warning: 399 192.0.2.2 \"{SCRIPT}\"\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let t0 = 1_700_000_000_000_000_000;
    let records = vec![
        (
            t0,
            support::udp_v4(
                [192, 0, 2, 1],
                5060,
                [192, 0, 2, 2],
                5060,
                invite.as_bytes(),
            ),
        ),
        (
            t0 + 20_000_000,
            support::udp_v4(
                [192, 0, 2, 2],
                5060,
                [192, 0, 2, 1],
                5060,
                reject.as_bytes(),
            ),
        ),
    ];
    let file = support::open(support::pcap(&records));
    let analysis = support::analyze_with(&[file], 1 << 20, 1);
    assert_eq!(analysis.calls.len(), 1, "the crafted call is parsed");
    assert!(analysis.calls[0].call_id.contains(SCRIPT));
    let page = render(&analysis);
    assert!(
        !page.contains(SCRIPT),
        "markup from the capture got through"
    );
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_self_contained(&page);
    assert_balanced(&page);
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "callscope-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first Chromium binary that runs: `chromium` (Debian), then `chromium-browser`.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|bin| {
        Command::new(bin)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Runs Chromium headless on a page with the given extra arguments, within two minutes; its
/// standard output.
fn run_chromium(bin: &str, profile: &Path, page: &Path, args: &[String]) -> Vec<u8> {
    // Flags for a closed network: no sandbox (root in CI), no GPU, no background fetches.
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("chromium's stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status}");
    reader.join().expect("chromium's output")
}

/// The DOM Chromium makes of a page once its script ran; `None` (skipped, saying `what`) without
/// Chromium.
fn dump_dom(page: &str, what: &str) -> Option<String> {
    let Some(bin) = chromium() else {
        support::optional::skip(what, "chromium is not installed (apt-get install chromium)");
        return None;
    };
    let tmp = TempDir::new("html-dom");
    let path = tmp.0.join("page.html");
    std::fs::write(&path, page).expect("write the page");
    let dom = run_chromium(
        bin,
        &tmp.0.join("profile"),
        &path,
        &["--dump-dom".to_string()],
    );
    Some(String::from_utf8_lossy(&dom).into_owned())
}

/// The page of a large capture stays small and opens quickly: 20 000 generated calls (a fifth
/// rejected, with 256 statuses, so 256 patterns and 50 calls in detail: the page's worst case)
/// make a page under a fifth of 20 MB (so, the page growing at most in proportion, 100 000 calls
/// stay under 20 MB; measured: 15.3 MB), and Chromium shows the first page of the call table in
/// under 5 s from the start of navigation.
#[test]
fn a_large_capture_makes_a_page_that_stays_small_and_opens_quickly() {
    let spec = synth::Spec {
        calls: 20_000,
        media_ms: 0,
        spacing_ms: 20,
        failed_pct: 20.0,
        reject_statuses: 256,
        seed: 18,
        ..synth::Spec::default()
    };
    let mut bytes = Vec::new();
    synth::generate(&spec, &mut bytes).expect("generate into memory");
    let file = support::open(bytes);
    let mut page = Vec::new();
    callscope::analyze_into(
        &[file],
        &callscope::Options::default(),
        &callscope::pipeline::NoProgress,
        &mut html::Writer::new(&mut page),
    )
    .expect("write to a Vec");
    eprintln!("{} bytes, {} bytes a call", page.len(), page.len() / 20_000);
    assert!(page.len() * 5 < 20_000_000, "{} bytes", page.len());
    let text = String::from_utf8(page).expect("UTF-8");
    assert_self_contained(&text);
    assert_balanced(&text);
    let table = &text[text.find("id=\"call-table\"").expect("the call table")..];
    let table = &table[..table.find("</table>").expect("its end")];
    assert_eq!(
        table.matches("<tr class=").count(),
        PAGE_ROWS,
        "the first page as HTML"
    );
    assert!(text.matches("<section class=\"call").count() <= html::DETAIL_PATTERNS);
    let Some(dom) = dump_dom(&text, "opening the large page in Chromium") else {
        return;
    };
    let rendered: u64 = dom
        .split_once("data-rendered=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|ms| ms.parse().ok())
        .expect("the script rendered the table and said when");
    eprintln!("first page of the call table after {rendered} ms");
    assert!(rendered < 5_000, "{rendered} ms");
    let table = &dom[dom.find("id=\"call-table\"").expect("the call table")..];
    let table = &table[..table.find("</table>").expect("its end")];
    assert_eq!(
        table.matches("<tr class=").count(),
        PAGE_ROWS,
        "a page from the data"
    );
    assert!(dom.contains("1–1000 of 20000 calls"), "the pager");
}

#[test]
fn chromium_renders_the_report() {
    let Some(bin) = chromium() else {
        return support::optional::skip(
            "rendering the report in Chromium",
            "chromium is not installed (apt-get install chromium)",
        );
    };
    let tmp = TempDir::new("html");
    let html = tmp.0.join("report.html");
    let png = tmp.0.join("report.png");
    let profile = tmp.0.join("profile");
    let analysis = analyze_file("testdata/lab/tcp-syn-dropped-proxy.pcap");
    std::fs::write(&html, render(&analysis)).expect("write the report");
    run_chromium(
        bin,
        &profile,
        &html,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2000".to_string(),
        ],
    );
    let file = std::fs::File::open(&png).expect("chromium wrote the screenshot");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buf).expect("PNG pixels");
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let pixel = |x: usize, y: usize| {
        let at = y * info.line_size + x * channels;
        (buf[at], buf[at + 1], buf[at + 2])
    };
    // Not blank: most of the page is not plain white (the tinted background, the header bar), a good
    // share is ink (text, lines, badges), and many colours are in use.
    let mut non_white = 0usize;
    let mut ink = 0usize;
    let mut colours = std::collections::BTreeSet::new();
    for y in 0..info.height as usize {
        for x in 0..info.width as usize {
            let (r, g, b) = pixel(x, y);
            if r.min(g).min(b) < 250 {
                non_white += 1;
            }
            if r.min(g).min(b) < 180 {
                ink += 1;
            }
            colours.insert((r >> 4, g >> 4, b >> 4));
        }
    }
    let total = (info.width * info.height) as usize;
    eprintln!(
        "screenshot: {}% not white, {}‰ ink, {} colours",
        non_white * 100 / total,
        ink * 1000 / total,
        colours.len()
    );
    assert!(
        non_white * 100 / total >= 20,
        "the screenshot is mostly blank: {non_white} of {total} pixels not white"
    );
    assert!(
        ink * 1000 / total >= 20,
        "the screenshot has almost no text or lines: {ink} of {total} pixels"
    );
    assert!(
        colours.len() >= 12,
        "the screenshot has only {} distinct colours",
        colours.len()
    );
    // The inline style sheet applied: the header bar has the report's accent colour (#0f4c81).
    let (r, g, b) = pixel(20, 20);
    assert!(
        r < 40 && (60..100).contains(&g) && (110..150).contains(&b),
        "header colour {r},{g},{b}: the inline CSS did not apply"
    );
}

/// A table of the page by its id, up to its end.
fn table<'a>(page: &'a str, id: &str) -> &'a str {
    let from = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let rest = &page[from..];
    &rest[..rest.find("</table>").expect("its end")]
}

/// The rows of a table by severity mark, in order (`error`, `warning`, `none`, ...).
fn row_marks(table: &str) -> Vec<&str> {
    table
        .split("<tr class=\"sev-")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect()
}

/// Registrations, SIP peers and the other transactions each have their section, failed items first
/// with their findings under them, and their counts in the summary at the top; Chromium lays the
/// rows out inside their tables (the markup nests).
#[test]
fn registrations_peers_and_other_transactions_have_their_sections() {
    let page = render(&analyze_file("testdata/lab/register-auth.pcap"));
    assert_self_contained(&page);
    assert_balanced(&page);
    assert!(
        page.contains(
            "<a href=\"#registrations\">Registrations</a>: 7 bindings, <span class=\"poor\">6 failed</span>"
        ),
        "the summary says how many registrations failed"
    );
    let regs = table(&page, "registrations-table");
    assert_eq!(
        row_marks(regs),
        ["error", "error", "error", "error", "error", "error", "none"],
        "failed bindings first"
    );
    assert!(regs.contains("<code>sip:alice@lab.example</code>"));
    assert!(regs.contains("<td>registered</td>") && regs.contains("<td>expired</td>"));
    assert_eq!(
        regs.matches("<tr class=\"item-findings\">").count(),
        6,
        "each failed binding's findings under it"
    );
    assert!(regs.contains("<code>sip.registration_failed</code>"));
    assert!(regs.contains("401 Unauthorized"));

    let keepalive = render(&analyze_file("testdata/lab/options-keepalive.pcap"));
    let peers = table(&keepalive, "sip-peers-table");
    assert_eq!(
        row_marks(peers).first(),
        Some(&"error"),
        "a failing pair first"
    );
    assert!(peers.contains("<code>sip.keepalive_failed</code>"));
    assert!(peers.contains("down at the end"));
    assert!(peers.contains("2 connections without SYN-ACK"));
    assert!(keepalive.contains("<a href=\"#sip-peers\">SIP peers</a>:"));

    let others = render(&analyze_file("testdata/lab/other-transactions.pcap"));
    assert!(others.contains(
        "<a href=\"#other-transactions\">Other transactions</a>: 5 transactions, <span class=\"poor\">2 failed</span>"
    ));
    let txs = table(&others, "other-transactions-table");
    assert_eq!(
        row_marks(txs),
        ["error", "error", "warning", "none", "none"],
        "failed transactions first"
    );
    assert!(txs.contains("489 Bad Event"));
    assert!(txs.contains("<b>no response</b>") && txs.contains("<code>sip.no_response</code>"));
    assert!(txs.contains("<td>#1</td>"), "the REFER's call");

    let Some(dom) = dump_dom(&page, "laying out the registrations in Chromium") else {
        return;
    };
    let regs = table(&dom, "registrations-table");
    assert_eq!(row_marks(regs).len(), 7, "the rows stay in their table");
    assert_eq!(regs.matches("class=\"finding error\"").count(), 6);
    assert_eq!(regs.matches("class=\"finding info\"").count(), 1);
}
