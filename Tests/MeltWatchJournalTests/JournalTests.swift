import MeltWatchCore
import Testing

@testable import MeltWatchJournal

@Suite("Journal: framing, commit, segments, retention")
struct JournalTests {
    @Test("CRC-32C matches the standard check values", arguments: [
        ("", UInt32(0)), ("a", 0xC1D0_4330), ("123456789", 0xE306_9283),
        ("The quick brown fox jumps over the lazy dog", 0x2262_0404),
    ])
    func crc(text: String, expected: UInt32) {
        #expect(CRC32C.checksum(Array(text.utf8)) == expected)
        // Continuing over two halves gives the checksum of the whole.
        let bytes = Array(text.utf8), half = bytes.count / 2
        #expect(CRC32C.checksum(Array(bytes[half...]), continuing: CRC32C.checksum(Array(bytes[..<half]))) == expected)
    }

    @Test("the CPU's CRC32 instruction and the software table agree at every length and offset")
    func hardwareMatchesSoftware() {
        var rng = SplitMix64(seed: 42)
        let data = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.withUnsafeBytes { b in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4000] where start + length <= b.count {
                    let slice = UnsafeRawBufferPointer(rebasing: b[start..<start + length])
                    #expect(CRC32C.checksum(slice, continuing: 0x1234) == CRC32C.software(slice, continuing: 0x1234))
                }
            }
        }
    }

    @Test("every record kind reads back exactly, in order, 8-byte aligned")
    func roundTrip() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let records: [JournalRecord] = [
            .config(time: at(0), hash: "sha256:abc", text: Array("plants: []\n".utf8)),
            message(1), .tick(at(100)),
            .message(JournalMessage(receivedAt: at(101), qos: 0, topic: Array("x".utf8), payload: [0xFF, 0x00, 0xFE])),
            .message(JournalMessage(receivedAt: at(102), qos: 2, topic: [], payload: [])),
            .reload(time: at(300), hash: "sha256:def", text: Array("plants: [ ]\n".utf8)),
            .action(time: at(301), data: Array("{}".utf8)), .alarmState(time: at(302), data: Array("{\"open\":[]}".utf8)),
            .link(time: at(303), up: false), .link(time: at(304), up: true),
            .clockStep(time: at(3_600_305), delta: 3_600_000), .clockStep(time: at(306), delta: -3_600_000), .gatewayState(time: at(307), data: [0, 1, 2, 0xFF]),
        ]
        let w = try JournalWriter(directory: dir, now: at(0))
        for r in records { try w.append(r) }
        #expect(w.pendingRecords == records.count)
        try w.commit(now: at(200))
        #expect(w.recordsCommitted == UInt64(records.count))
        #expect(w.bytesCommitted % 8 == 0)
        #expect(try readAll(dir) == records)
        #expect(try JournalReader(directory: dir).verify().problem == nil)
        // --from / --to select by record time.
        var selected: [JournalRecord] = []
        try JournalReader(directory: dir).forEach(from: at(100), to: at(101)) { _, r in selected.append(r) }
        #expect(selected == [records[2], records[3]])
    }

    @Test("nothing appended is on disk before commit; a reopened writer appends after what is there")
    func commitAndReopen() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        var w: JournalWriter? = try JournalWriter(directory: dir, now: at(0))
        try w!.append(message(1))
        #expect(try readAll(dir).isEmpty)
        try w!.commit(now: at(1))
        try w!.append(message(2))  // never committed: lost with the writer, as with a crash
        w = nil
        let again = try JournalWriter(directory: dir, now: at(5))
        #expect(again.recovery.tornTail == nil && again.recovery.problem == nil && again.recovery.records == 1)
        try again.append(message(3))
        try again.commit(now: at(6))
        #expect(try readAll(dir) == [message(1), message(3)])
    }

    @Test("segments roll over when full; reading crosses them; retention removes sealed ones only")
    func segmentsAndRetention() throws {
        let dir = temporaryDirectory()
        defer { cleanup(dir) }
        let w = try JournalWriter(directory: dir, options: JournalOptions(segmentBytes: 1024), now: at(0))
        for i in 0..<60 {
            try w.append(message(i))
            try w.commit(now: at(Int64(i) * 1000))
        }
        let segments = try JournalReader(directory: dir).segments()
        #expect(segments.count > 3)
        #expect(try readAll(dir) == (0..<60).map { message($0) })
        // Segments created before 20 s hold only records before the next segment's creation.
        let removed = try w.removeSegments(before: at(20_000))
        #expect(!removed.isEmpty)
        let remaining = try readAll(dir)
        #expect(remaining.last == message(59))
        #expect(remaining.first!.time <= at(20_000))
        #expect(try JournalReader(directory: dir).segments().last == segments.last)
        // The wall clock stepped 400 days forward: the segments written so far are no older for it
        // (a retention of one day, at the stepped clock, removes nothing).
        let before = try JournalReader(directory: dir).segments()
        w.clockStepped(by: 400 * 86_400_000)
        #expect(try w.removeSegments(before: at(60_000 + 399 * 86_400_000)).isEmpty)
        #expect(try JournalReader(directory: dir).segments() == before)
        w.clockStepped(by: -400 * 86_400_000)
        // Even a cutoff in the future keeps the segment being written.
        try w.removeSegments(before: at(10_000_000))
        #expect(try JournalReader(directory: dir).segments() == [segments.last!])
    }
}
