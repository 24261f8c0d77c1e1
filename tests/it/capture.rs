//! Reading capture containers: chunked parallel reading gives exactly the sequential result, and
//! damaged files are reported and read past.

use crate::support::{analyze_with, open, pcap, udp_records};

#[test]
fn chunking_and_threads_do_not_change_the_result() {
    let bytes = pcap(&udp_records(2000));
    let files = [open(bytes)];
    let reference = analyze_with(&files, 1 << 30, 1);
    assert_eq!(reference.captures[0].packets, 2000);
    assert_eq!(reference.captures[0].decode.udp, 2000);
    // Tiny chunks force resynchronisation in the middle of records, over and over.
    for chunk in [64, 300, 1000, 4096, 65_536] {
        for threads in [1, 2, 3] {
            assert_eq!(
                analyze_with(&files, chunk, threads),
                reference,
                "chunk {chunk}, {threads} threads"
            );
        }
    }
}

#[test]
fn a_damaged_record_is_reported_and_the_rest_is_read() {
    let records = udp_records(50);
    let mut bytes = pcap(&records);
    // The 11th record's caplen field: header 24 + the first 10 records.
    let at = 24
        + records[..10]
            .iter()
            .map(|(_, d)| 16 + d.len())
            .sum::<usize>()
        + 8;
    bytes[at..at + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let files = [open(bytes)];
    for chunk in [128, 1 << 20] {
        let a = analyze_with(&files, chunk, 2);
        let c = &a.captures[0];
        assert_eq!(c.packets, 49, "chunk {chunk}");
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(
            c.warnings[0].message.contains("damaged"),
            "{:?}",
            c.warnings
        );
        assert_eq!(c.warnings[0].offset as usize, at - 8);
    }
}

#[test]
fn a_truncated_last_record_is_reported() {
    let records = udp_records(20);
    let bytes = pcap(&records);
    let last = 16 + records[19].1.len();
    // Cut inside the data, right after the header, and inside the header.
    for cut in [1, 10, last - 16, last - 15, last - 1] {
        let files = [open(bytes[..bytes.len() - cut].to_vec())];
        let c = &analyze_with(&files, 256, 2).captures[0];
        assert_eq!(c.packets, 19, "cut {cut}");
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].message.contains("cut short")
                || c.warnings[0].message.contains("ends inside")
        );
    }
}

#[test]
fn header_only_capture_has_no_packets() {
    let bytes = pcap(&[]);
    let files = [open(bytes)];
    let c = &analyze_with(&files, 256, 1).captures[0];
    assert_eq!((c.packets, c.first_ts_ns), (0, None));
    assert!(c.warnings.is_empty());
}

#[test]
fn files_are_merged_by_first_timestamp() {
    let records = udp_records(30);
    let early = open(pcap(&records[..10]));
    let late = open(pcap(&records[10..]));
    let a = analyze_with(&[late, early], 128, 2);
    assert_eq!(a.captures[0].packets, 10);
    assert_eq!(a.captures[0].first_frame, 1);
    assert_eq!(a.captures[1].first_frame, 11);
    assert_eq!(a.packets(), 30);
}

#[test]
fn a_frame_filter_leaves_frames_numbered_but_unanalysed() {
    use std::sync::Arc;
    let records = udp_records(10);
    let files = [open(pcap(&records))];
    // Keep only frames whose last byte (the payload fill) is even: 5 of 10.
    let options = callscope::Options {
        first_frame: 101,
        frame_filter: Some(Arc::new(|_link, data: &[u8]| {
            data.last().is_some_and(|b| b % 2 == 0)
        })),
        ..callscope::Options::default()
    };
    let a = callscope::analyze(&files, &options, &callscope::pipeline::NoProgress);
    let c = &a.captures[0];
    assert_eq!((c.packets, c.decode.filtered_out, c.decode.udp), (10, 5, 5));
    assert_eq!(c.first_frame, 101);
}
