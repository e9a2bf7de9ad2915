import MeltWatchCore
import MeltWatchJournal

/// libFuzzer's entry point: the input is the content of the journal's only segment file.
///
/// Each input is tried twice: as it is, and "repaired" — the header's and every frame's CRC-32C
/// recomputed by the code below — so that mutations of lengths and fields get past the checksums
/// and reach the record parsers, recovery and the writer (as libpng's fuzzers ignore PNG CRCs).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJournal(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    check(segment: input)
    let fixed = repaired(input)
    if fixed != input { check(segment: fixed) }
    return 0
}

private let directory = "/journal"
private let segmentPath = directory + "/00000000000000000001.mwj"
private let now = EventTime(milliseconds: 1_763_884_800_000)

/// Reads, verifies, recovers and appends to a journal whose one segment holds `segment`, checking
/// that every stage agrees with the others and with an independent reading of the frames.
private func check(segment: [UInt8]) {
    let fs = MemoryFileSystem(directory: directory)
    fs.files[segmentPath] = segment
    let reader = JournalReader(directory: directory, fileSystem: fs)

    // 1. verify and forEach walk the same frames.
    let verification: JournalReader.Verification
    do { verification = try reader.verify() } catch { fail("verify threw \(error) on an in-memory journal") }
    let (records, readProblem) = readAll(reader, segment: segment)
    require(records.count == verification.records, "forEach gave \(records.count) records, verify counted \(verification.records)")
    if let readProblem {
        require(readProblem == verification.problem, "forEach stopped at \(readProblem), verify at \(String(describing: verification.problem))")
    }
    // A time window gives exactly the records inside it, in the same order.
    if let first = records.first?.1.time, let last = records.last?.1.time {
        let (from, to) = (min(first, last), max(first, last))
        var windowed: [JournalRecord] = []
        do { try reader.forEach(from: from, to: to) { _, r in windowed.append(r) } } catch let JournalError.integrity(p) {
            require(p == readProblem, "a window stopped at \(p), the whole read at \(String(describing: readProblem))")
        } catch {
            fail("reading a window threw \(error)")
        }
        let expected = records.map(\.1).filter { $0.time >= from && $0.time <= to }
        require(windowed == expected, "the window [\(from), \(to)] gave \(windowed.count) records, \(expected.count) lie in it")
    }
    checkNotLast(segment: segment, verification: verification, records: records.map(\.1))
    for (_, record) in records {
        if case .message(let m) = record {
            // The export of any recorded message is one line: newlines in topic or payload are escaped.
            for format in [JournalExport.Format.jsonl, .csv] {
                let line = JournalExport.line(m, format: format)
                require(format == .csv || !line.contains("\n"), "export line spans lines: \(line)")
            }
        }
    }

    // 2. Recovery on open: what it keeps reads back exactly as before; damage it reports stays visible.
    let writer: JournalWriter
    do { writer = try JournalWriter(directory: directory, fileSystem: fs, now: now) } catch {
        fail("the writer could not open an in-memory journal: \(error)")
    }
    let (afterRecovery, problemAfterRecovery) = readAll(JournalReader(directory: directory, fileSystem: fs), segment: nil)
    if writer.recovery.problem == nil {
        require(problemAfterRecovery == nil, "recovery reported no damage, yet reading stops at \(problemAfterRecovery!)")
        require(afterRecovery.map(\.1) == records.map(\.1), "recovery changed the records that were readable before it")
        require(verification.problem == nil || writer.recovery.tornTail != nil, "a damaged segment was neither cut nor reported")
    } else {
        require(problemAfterRecovery != nil, "recovery reported \(writer.recovery.problem!) but the reader reads past it")
        return
    }

    // 3. Round trip: every record read, written again by the writer, reads back equal.
    do {
        for (_, record) in records { try writer.append(record) }
        try writer.commit(now: now)
    } catch {
        fail("appending to a recovered in-memory journal failed: \(error)")
    }
    let (again, problemAgain) = readAll(JournalReader(directory: directory, fileSystem: fs), segment: nil)
    require(problemAgain == nil, "records written back do not read back: \(problemAgain!)")
    require(again.map(\.1) == (records + records).map(\.1), "records written back read back different")
}

/// With a healthy segment after it, the input is no longer the last segment: any damage in it,
/// even what would be a torn tail at the end of the journal, must stop the read (never skipped).
private func checkNotLast(segment: [UInt8], verification: JournalReader.Verification, records: [JournalRecord]) {
    let fs = MemoryFileSystem(directory: directory)
    fs.files[segmentPath] = segment
    fs.files[directory + "/00000000000000000002.mwj"] = nextSegment
    let (read, problem) = readAll(JournalReader(directory: directory, fileSystem: fs), segment: nil)
    if verification.problem != nil {
        require(problem != nil, "damage at \(verification.problem!) in a segment followed by another was skipped")
    } else {
        require(problem == nil && read.map(\.1) == records, "a healthy segment reads differently when another follows")
    }
}

/// An empty segment 2, as the writer starts one.
private let nextSegment: [UInt8] = {
    let fs = MemoryFileSystem(directory: "/n")
    fs.files["/n/00000000000000000001.mwj"] = []
    do { _ = try JournalWriter(directory: "/n", fileSystem: fs, now: now) } catch { fail("writer: \(error)") }
    guard let bytes = fs.files["/n/00000000000000000002.mwj"] else { fail("the writer did not start segment 2") }
    return bytes
}()

/// Every record the reader returns, and the integrity problem it stopped at, if any. With `segment`
/// given, checks each record's frame there with this file's own CRC-32C.
private func readAll(_ reader: JournalReader, segment: [UInt8]?) -> ([(JournalPosition, JournalRecord)], JournalProblem?) {
    var out: [(JournalPosition, JournalRecord)] = []
    do {
        try reader.forEach { position, record in
            if let segment { checkFrame(at: position.offset, in: segment) }
            if let last = out.last {
                require(last.0 < position, "records out of order: \(last.0) then \(position)")
            }
            out.append((position, record))
        }
    } catch let JournalError.integrity(problem) {
        return (out, problem)
    } catch {
        fail("reading an in-memory journal threw \(error)")
    }
    return (out, nil)
}

/// The reader must never return a record whose frame is out of bounds or whose checksum fails.
private func checkFrame(at offset: Int, in b: [UInt8]) {
    require(offset >= 32 && offset % 8 == 0 && offset + 8 <= b.count, "record at impossible offset \(offset) of \(b.count)")
    let length = Int(le32(b, offset))
    require(length > 0 && offset + 8 + length <= b.count, "record at \(offset) has length \(length), segment \(b.count) bytes")
    let crc = crc32c(b[(offset + 8)..<(offset + 8 + length)], continuing: crc32c(b[offset..<(offset + 4)]))
    require(crc == le32(b, offset + 4), "record at \(offset) returned with a checksum that does not match")
}

/// `input` with the header's and every frame's CRC-32C recomputed, walking the lengths as written.
private func repaired(_ input: [UInt8]) -> [UInt8] {
    var b = input
    guard b.count >= 32 else { return b }
    store32(&b, 24, crc32c(b[0..<24]))
    var offset = 32
    while offset + 8 <= b.count {
        let length = Int(le32(b, offset))
        guard length > 0, length <= 1 << 20, offset + 8 + length <= b.count else { break }
        store32(&b, offset + 4, crc32c(b[(offset + 8)..<(offset + 8 + length)], continuing: crc32c(b[offset..<(offset + 4)])))
        offset += 8 + length + (8 - length % 8) % 8
    }
    return b
}

private func le32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

private func store32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
}

/// CRC-32C (reflected polynomial 0x82F63B78), written here from the definition so that the check
/// does not trust the journal's own implementation.
private let crcTable: [UInt32] = (0..<256).map { (n: UInt32) -> UInt32 in
    var c = n
    for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
    return c
}

private func crc32c(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
    var c = ~crc
    for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
    return ~c
}

private func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fail(message()) }
}

private func fail(_ message: String) -> Never {
    fatalError("fuzz-journal invariant: \(message)")
}
