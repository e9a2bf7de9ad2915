#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import MeltWatchJournal

/// With `MELTWATCH_FUZZ_WRITE_SEEDS=DIR` set, writes the seed segments to DIR and exits before any
/// fuzzing: segments written by the real ``JournalWriter``, so the corpus starts from what the
/// daemon puts on disk (`scripts/fuzz.sh --seeds` uses it to refresh Fuzz/corpus/fuzz-journal).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzJournalInitialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    guard let raw = getenv("MELTWATCH_FUZZ_WRITE_SEEDS") else { return 0 }
    let out = String(cString: raw)
    for (name, bytes) in seedSegments() {
        let path = out + "/" + name
        guard let f = fopen(path, "wb") else { fatalError("cannot write \(path)") }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
        print("wrote \(path) (\(bytes.count) bytes)")
    }
    exit(0)
}

private let t0: Int64 = 1_763_884_800_000

/// Named segment files, each as the writer leaves it (or as a crash or bad disk would).
private func seedSegments() -> [(String, [UInt8])] {
    func segment(_ records: [JournalRecord]) -> [UInt8] {
        let fs = MemoryFileSystem(directory: "/j")
        do {
            let writer = try JournalWriter(directory: "/j", fileSystem: fs, now: EventTime(milliseconds: t0))
            for r in records { try writer.append(r) }
            try writer.commit(now: EventTime(milliseconds: t0 + 10_000))
        } catch {
            fatalError("seed writer: \(error)")
        }
        return fs.files["/j/00000000000000000001.mwj"]!
    }
    func message(_ ms: Int64, _ topic: String, _ payload: [UInt8]) -> JournalRecord {
        .message(JournalMessage(receivedAt: EventTime(milliseconds: t0 + ms), qos: 1, topic: Array(topic.utf8), payload: payload))
    }
    let signal = message(5, "plants/baotou-steel/bof1-lance/inlet_flow", Array(#"{"ts": 1763884800123, "v": 12.5, "q": "good", "seq": 42}"#.utf8))
    let batch = message(7, "plants/baotou-steel/bof1-lance",
                        Array(#"{"ts":"2025-11-23T16:00:00.5+08:00","values":{"inlet_flow":120.4,"outlet_flow":119.9,"furnace_operating":true}}"#.utf8))
    let binary = message(9, "site/bof1/lance/FT101", [0xFF, 0x00, 0xC3, 0x28, 0x7B, 0x22])
    let tick = JournalRecord.tick(EventTime(milliseconds: t0 + 1_000))
    let config = JournalRecord.config(time: EventTime(milliseconds: t0), hash: "sha256:0f1e2d",
                                      text: Array("broker:\n  url: mqtt://127.0.0.1:1883\n  client_id: meltwatch-1\nplants: []\n".utf8))
    let action = JournalRecord.action(time: EventTime(milliseconds: t0 + 2_000), data: Array(#"{"kind":"ack","alarm_id":"p:e:stale:1","operator":"张三"}"#.utf8))
    let state = JournalRecord.alarmState(time: EventTime(milliseconds: t0), data: Array(#"{"alarms":[]}"#.utf8))
    let outbox = JournalRecord.outbox(time: EventTime(milliseconds: t0 + 3_000), data: Array(#"{"schema":"meltwatch.alarm/1","event":"raised"}"#.utf8))

    let empty = segment([])
    let messages = segment([signal, batch, binary])
    let everyKind = segment([config, state, signal, tick, batch, action, outbox])
    // A crash in the middle of writing the last record: the writer cuts this on its next start.
    let torn = Array(messages.dropLast(20))
    // A bit flipped in the first record of three: damage inside the log, never skipped.
    var damaged = messages
    damaged[32 + 8 + 20] ^= 0x04
    return [
        ("empty.mwj", empty), ("messages.mwj", messages), ("every-kind.mwj", everyKind),
        ("torn-tail.mwj", torn), ("damaged.mwj", damaged), ("short-header.mwj", Array(empty.prefix(20))),
    ]
}
