import Foundation
import MeltWatchCore
import MeltWatchJournal
import MeltWatchTestKit
import Testing

@Suite("meltwatch journal verify / export")
struct JournalCommandTests {
    /// A journal with a text message, a binary one and a tick.
    private func makeJournal() throws -> String {
        let dir = try temporaryDirectory(prefix: "journal-cli").path + "/journal"
        let w = try JournalWriter(directory: dir, now: EventTime(milliseconds: 1_763_884_800_000))
        try w.append(.message(JournalMessage(receivedAt: EventTime(milliseconds: 1_763_884_800_123), qos: 1,
                                             topic: Array("plants/p/e/co".utf8), payload: Array(#"{"ts":1,"v":"a,b"}"#.utf8))))
        try w.append(.tick(EventTime(milliseconds: 1_763_884_800_200)))
        try w.append(.message(JournalMessage(receivedAt: EventTime(milliseconds: 1_763_884_801_000), qos: 0,
                                             topic: Array("plants/p/e".utf8), payload: [0xFF, 0xFE, 0x00])))
        try w.commit(now: EventTime(milliseconds: 1_763_884_801_000))
        return dir
    }

    private func run(_ arguments: [String], in dir: String) async throws -> (Int32?, String) {
        let p = try ProductProcess("meltwatch", arguments: arguments, logFile: URL(fileURLWithPath: dir + "/../cli-\(UUID().uuidString).log"))
        let status = await p.exited(timeoutSeconds: 30)
        return (status, p.output)
    }

    @Test("verify: ok with counts; a flipped bit exits 1 naming the segment and offset")
    func verify() async throws {
        let dir = try makeJournal()
        let (ok, out) = try await run(["journal", "verify", dir], in: dir)
        #expect(ok == 0)
        #expect(out.contains("ok — 1 segment(s), 3 records"), "\(out)")
        let segment = dir + "/00000000000000000001.mwj"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes[32 + 20] ^= 0x04  // inside the first record's body
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let (bad, badOut) = try await run(["journal", "verify", dir], in: dir)
        #expect(bad == 1)
        #expect(badOut.contains("00000000000000000001.mwj: offset 32: checksum mismatch"), "\(badOut)")
    }

    @Test("export: one line per message as received, text or base64; --from/--to; csv with BOM and quoting")
    func export() async throws {
        let dir = try makeJournal()
        let (status, out) = try await run(["journal", "export", dir], in: dir)
        #expect(status == 0)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines == [
            #"{"recv_time":"2025-11-23T08:00:00.123Z","topic":"plants/p/e/co","payload":"{\"ts\":1,\"v\":\"a,b\"}"}"#,
            #"{"recv_time":"2025-11-23T08:00:01.000Z","topic":"plants/p/e","payload":"//4A","payload_encoding":"base64"}"#,
        ])
        let (_, later) = try await run(["journal", "export", dir, "--from", "1763884800500"], in: dir)
        #expect(later.split(separator: "\n").count == 1)
        let (_, csv) = try await run(["journal", "export", dir, "--format", "csv", "--to", "2025-11-23T16:00:00.500+08:00"], in: dir)
        #expect(csv.hasPrefix("\u{FEFF}recv_time,topic,payload,payload_encoding\n"))
        #expect(csv.contains(#"2025-11-23T08:00:00.123Z,plants/p/e/co,"{""ts"":1,""v"":""a,b""}",text"#), "\(csv)")
        #expect(!csv.contains("base64"))
    }
}
