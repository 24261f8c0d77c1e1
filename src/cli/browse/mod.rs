//! `callscope browse FILE…`: the calls of a capture in the terminal, for a support engineer over SSH.
//!
//! The capture is analysed first, with the progress bar, into a [`model::Run`]; then the screen shows
//! the failure patterns over the call list (worst first). `/` filters the list as you type (number,
//! address, Call-ID, code, status, state), Enter opens a call (its findings, ladder and media,
//! scrollable both ways), `e` writes the call's packets to `call-N.pcap` and `j` its JSON object to
//! `call-N.json` in the current directory, `?` shows the keys, `q` quits. Works in 80×24 and more;
//! with `NO_COLOR` set, no colour (selection by reverse video only).
//!
//! Drawing is ratatui's over crossterm (no system library); only the rows on screen are drawn, so a
//! list of a million calls scrolls as fast as one of ten.

mod model;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use callscope::diagnose::Severity;
use callscope::export::extract::packets_of;
use callscope::report::text;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::{DefaultTerminal, Frame};

use super::args;
use super::output::Keep;
use model::Run;

/// Keys, for `?`.
const HELP: &[(&str, &str)] = &[
    ("↑ ↓ PgUp PgDn Home End", "move in the list, scroll a call"),
    ("/", "filter as you type: number, IP, Call-ID, code"),
    ("Enter", "open the call (in the filter: keep it)"),
    ("← →", "scroll a call sideways"),
    ("e", "write the call's packets to call-N.pcap"),
    ("j", "write the call's JSON to call-N.json"),
    ("Esc", "back; clear the filter"),
    ("q", "back; quit from the list"),
    ("?", "this help"),
];

/// Where the keys go.
#[derive(PartialEq, Eq)]
enum Mode {
    List,
    Filter,
    Call,
}

struct App {
    run: Run,
    /// Positions in `run.entries` of the calls the filter keeps.
    view: Vec<usize>,
    filter: String,
    /// In `view`.
    selected: usize,
    offset: usize,
    mode: Mode,
    help: bool,
    /// The open call: its lines and scroll position.
    detail: Vec<String>,
    scroll: (usize, usize),
    status: String,
    color: bool,
    quit: bool,
}

/// `callscope browse`.
pub fn browse(inputs: &args::Inputs) -> anyhow::Result<()> {
    // Before the analysis, which can take a while: a pipe or a file gets a usage error at once.
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "browse needs a terminal on standard output; for a report to a file or a pipe use `callscope analyze`"
        );
    }
    let files = super::open_all(&inputs.files)?;
    let mut run = Run::default();
    super::analyze_files_into(&files, inputs, &mut run)?;
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut app = App {
        view: (0..run.entries.len()).collect(),
        run,
        filter: String::new(),
        selected: 0,
        offset: 0,
        mode: Mode::List,
        help: false,
        detail: Vec::new(),
        scroll: (0, 0),
        status: String::new(),
        color,
        quit: false,
    };
    let mut terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(e) => {
            // It may have failed half way, with raw mode on.
            ratatui::restore();
            return Err(e).context("cannot set up the terminal");
        }
    };
    let result = app.run(&mut terminal, inputs, &files);
    ratatui::restore();
    result
}

impl App {
    fn run(
        &mut self,
        terminal: &mut DefaultTerminal,
        inputs: &args::Inputs,
        files: &[callscope::capture::CaptureFile],
    ) -> anyhow::Result<()> {
        while !self.quit {
            terminal.draw(|f| self.draw(f))?;
            if !event::poll(Duration::from_millis(250))? {
                continue;
            }
            if let Event::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press {
                    let page = terminal.size()?.height.saturating_sub(8).max(1) as usize;
                    self.key(key, page, inputs, files);
                }
            }
        }
        Ok(())
    }

    fn style(&self, colour: Color) -> Style {
        if self.color {
            Style::default().fg(colour)
        } else {
            Style::default()
        }
    }

    fn severity_style(&self, s: Option<Severity>) -> Style {
        match s {
            Some(Severity::Error) => self.style(Color::Red),
            Some(Severity::Warning) => self.style(Color::Yellow),
            Some(Severity::Info) => self.style(Color::Cyan),
            None => Style::default(),
        }
    }

    fn draw(&mut self, f: &mut Frame) {
        let area = f.area();
        // An open call has the screen but for the title and the keys.
        let patterns = if self.mode == Mode::Call {
            Vec::new()
        } else {
            self.pattern_lines(area)
        };
        let [title, pats, head, list, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(patterns.len() as u16),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let names: Vec<String> = self
            .run
            .summary
            .captures
            .iter()
            .map(|c| {
                std::path::Path::new(&c.path)
                    .file_name()
                    .map_or_else(|| c.path.clone(), |n| n.to_string_lossy().into_owned())
            })
            .collect();
        let overview = &self.run.summary.overview;
        let left_out = self.run.summary.filtered_calls;
        let mut heading = format!(
            " callscope browse — {} — {} calls, {} without findings",
            names.join(", "),
            overview.calls,
            overview.clean
        );
        if left_out > 0 {
            heading.push_str(&format!(", {left_out} left out"));
        }
        f.render_widget(
            Paragraph::new(heading).style(Style::default().add_modifier(Modifier::BOLD)),
            title,
        );
        f.render_widget(Paragraph::new(patterns), pats);
        let columns = if self.mode == Mode::Call {
            self.current()
                .map(|e| format!(" call #{}", self.run.entries[e].index + 1))
                .unwrap_or_default()
        } else {
            format!(
                "{:>6}  {:<12}  {:<10}  {:>3}  {:<26}  from → to",
                "#", "start (UTC)", "state", "st", "finding"
            )
        };
        f.render_widget(
            Paragraph::new(columns).style(Style::default().add_modifier(Modifier::UNDERLINED)),
            head,
        );
        if self.mode == Mode::Call {
            self.draw_call(f, list);
        } else {
            self.draw_list(f, list);
        }
        let shown = format!("{} of {} calls", self.view.len(), self.run.entries.len());
        let hint = if !self.status.is_empty() {
            self.status.clone()
        } else {
            match self.mode {
                Mode::List if self.filter.is_empty() => {
                    format!("{shown} · Enter open · / filter · e pcap · j json · ? help · q quit")
                }
                Mode::List => format!(
                    "{shown} · filter: {} · Esc clears · Enter open · ? help",
                    self.filter
                ),
                Mode::Filter => format!(
                    "{shown} · filter: {}▏ · Enter keep · Esc clear",
                    self.filter
                ),
                Mode::Call => "↑↓←→ scroll · e pcap · j json · Esc back · ? help".to_string(),
            }
        };
        f.render_widget(
            Paragraph::new(format!(" {hint}"))
                .style(Style::default().add_modifier(Modifier::REVERSED)),
            status,
        );
        if self.help {
            draw_help(f, area);
        }
    }

    /// The pattern header: as many patterns as fit in a quarter of the screen (three at least), each
    /// on one line, or on two when the screen is too narrow for its time and examples.
    fn pattern_lines(&self, area: Rect) -> Vec<Line<'static>> {
        let overview = &self.run.summary.overview;
        let options = text::Options::default();
        let budget = (area.height as usize / 4).max(3);
        let mut rows = Vec::new();
        let mut shown = 0;
        for p in &overview.patterns {
            let (what, when) = text::pattern_parts(p, overview, &options);
            let style = self.severity_style(Some(p.severity));
            let one = format!("{what}  {when}");
            let two = one.chars().count() > area.width as usize;
            if rows.len() + 1 + usize::from(two) > budget {
                break;
            }
            if two {
                rows.push(Line::styled(what, style));
                rows.push(Line::styled(format!("{:22}{when}", ""), style));
            } else {
                rows.push(Line::styled(one, style));
            }
            shown += 1;
        }
        let heading = match overview.patterns.len() {
            0 => " No call has a finding.".to_string(),
            all if shown < all => {
                format!(" Failure patterns ({all} in all, the first {shown} here):")
            }
            all => format!(" Failure patterns ({all} in all):"),
        };
        std::iter::once(Line::from(heading)).chain(rows).collect()
    }

    fn draw_list(&mut self, f: &mut Frame, area: Rect) {
        let height = area.height as usize;
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        let lines: Vec<Line> = self
            .view
            .iter()
            .enumerate()
            .skip(self.offset)
            .take(height)
            .map(|(k, &e)| {
                let entry = &self.run.entries[e];
                let mut style = self.severity_style(entry.worst);
                if k == self.selected {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                Line::from(Span::styled(entry.line.as_str(), style))
            })
            .collect();
        let lines = if lines.is_empty() {
            vec![Line::from("  no call matches")]
        } else {
            lines
        };
        f.render_widget(Paragraph::new(lines), area);
    }

    fn draw_call(&mut self, f: &mut Frame, area: Rect) {
        let height = area.height.saturating_sub(2) as usize;
        self.scroll.0 = self.scroll.0.min(self.detail.len().saturating_sub(height));
        let lines: Vec<Line> = self
            .detail
            .iter()
            .skip(self.scroll.0)
            .take(height)
            .map(|l| {
                let shown: String = l.chars().skip(self.scroll.1).collect();
                let style = if l.contains(" x ") && l.contains("[cause]") {
                    self.style(Color::Red)
                } else if l.contains(" ! ") && l.contains("[cause]") {
                    self.style(Color::Yellow)
                } else {
                    Style::default()
                };
                Line::styled(shown, style)
            })
            .collect();
        let title = format!(
            " lines {}–{} of {} ",
            self.scroll.0 + 1,
            (self.scroll.0 + height).min(self.detail.len()),
            self.detail.len()
        );
        f.render_widget(
            Paragraph::new(lines).block(
                Block::default()
                    .borders(Borders::TOP | Borders::BOTTOM)
                    .title(title),
            ),
            area,
        );
    }

    fn refilter(&mut self) {
        let q = self.filter.to_lowercase();
        self.view = self
            .run
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| q.is_empty() || e.search.contains(&q))
            .map(|(k, _)| k)
            .collect();
        self.selected = 0;
        self.offset = 0;
    }

    fn current(&self) -> Option<usize> {
        self.view.get(self.selected).copied()
    }

    fn key(
        &mut self,
        key: KeyEvent,
        page: usize,
        inputs: &args::Inputs,
        files: &[callscope::capture::CaptureFile],
    ) {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        if self.help {
            self.help = false;
            return;
        }
        self.status.clear();
        if self.mode == Mode::Filter {
            match key.code {
                KeyCode::Enter => self.mode = Mode::List,
                KeyCode::Esc => {
                    self.filter.clear();
                    self.refilter();
                    self.mode = Mode::List;
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                    self.refilter();
                }
                KeyCode::Char(c) => {
                    self.filter.push(c);
                    self.refilter();
                }
                _ => {}
            }
            return;
        }
        match key.code {
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('e') => self.extract(inputs, files),
            KeyCode::Char('j') => self.write_json(),
            _ if self.mode == Mode::Call => self.call_key(key, page),
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.refilter();
            }
            KeyCode::Esc => self.quit = true,
            KeyCode::Char('/') => self.mode = Mode::Filter,
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.view.len().saturating_sub(1))
            }
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(page),
            KeyCode::PageDown => {
                self.selected = (self.selected + page).min(self.view.len().saturating_sub(1));
            }
            KeyCode::Home | KeyCode::Char('g') => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = self.view.len().saturating_sub(1),
            KeyCode::Enter => self.open(),
            _ => {}
        }
    }

    fn call_key(&mut self, key: KeyEvent, page: usize) {
        let (v, h) = &mut self.scroll;
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Backspace => self.mode = Mode::List,
            KeyCode::Up => *v = v.saturating_sub(1),
            KeyCode::Down => *v += 1,
            KeyCode::PageUp => *v = v.saturating_sub(page),
            KeyCode::PageDown => *v += page,
            KeyCode::Home => *v = 0,
            KeyCode::End => *v = usize::MAX / 2,
            KeyCode::Left => *h = h.saturating_sub(8),
            KeyCode::Right => *h += 8,
            _ => {}
        }
    }

    fn open(&mut self) {
        let Some(e) = self.current() else { return };
        match self.run.detail(e) {
            Ok(text) => {
                self.detail = text
                    .trim_start_matches('\n')
                    .lines()
                    .map(str::to_string)
                    .collect();
                self.scroll = (0, 0);
                self.mode = Mode::Call;
            }
            Err(err) => self.status = format!("cannot read the call: {err}"),
        }
    }

    fn write_json(&mut self) {
        let Some(e) = self.current() else { return };
        let n = self.run.entries[e].index + 1;
        let path = format!("call-{n}.json");
        self.status = match self
            .run
            .json(e)
            .and_then(|json| std::fs::write(&path, json))
        {
            Ok(()) => format!("wrote call {n}'s JSON to {path}"),
            Err(err) => format!("cannot write {path}: {err}"),
        };
    }

    /// Writes the call's packets: the files are read again for that one call (its evidence is not
    /// kept in memory for every call).
    fn extract(&mut self, inputs: &args::Inputs, files: &[callscope::capture::CaptureFile]) {
        let Some(e) = self.current() else { return };
        let entry = &self.run.entries[e];
        let n = entry.index + 1;
        let path = format!("call-{n}.pcap");
        // The same inputs (files, BPF filter, HEP ports, TLS keys), quiet, selecting this call.
        let once = args::Inputs {
            quiet: true,
            select: args::Select {
                call_id: Some(entry.call_id.clone()),
                ..args::Select::default()
            },
            ..inputs.clone()
        };
        let written = (|| -> anyhow::Result<usize> {
            let mut keep = Keep::new(Some(&n.to_string()));
            super::analyze_files_into(files, &once, &mut keep)?;
            let call = keep.call()?;
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&path).with_context(|| format!("cannot create {path}"))?,
            );
            let stats = packets_of(&keep.captures, &[call], files, None, &mut out)?;
            out.flush()?;
            Ok(stats.frames.len())
        })();
        self.status = match written {
            Ok(packets) => format!("wrote {packets} packets of call {n} to {path}"),
            Err(err) => format!("cannot extract call {n}: {err:#}"),
        };
    }
}

fn draw_help(f: &mut Frame, area: Rect) {
    let width = 72.min(area.width);
    let height = (HELP.len() as u16 + 4).min(area.height);
    let at = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| Line::from(format!(" {k:<24} {what}")))
        .collect();
    f.render_widget(Clear, at);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" keys (any key closes) "),
        ),
        at,
    );
}
