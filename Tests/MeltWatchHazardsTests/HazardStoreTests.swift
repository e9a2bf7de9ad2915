import Foundation
import MeltWatchCore
import Testing

@testable import MeltWatchHazardStore
@testable import MeltWatchHazards

private let base: Int64 = 1_796_083_200_000  // 2026-12-01 08:00 Beijing

private func t(_ s: Int64) -> EventTime { EventTime(milliseconds: base + s * 1000) }

private func hazard(_ n: Int, status: Hazard.Status = .open, at s: Int64 = 0, plant: String = "baotou-steel") -> Hazard {
    var h = Hazard(id: "HZ-\(plant)-2026-00\(n)", plant: plant, equipment: "bof1-lance", cause: "interlock-failed", rule: "interlock-failed",
                   hazardClass: .major, description: "联锁未按要求动作：出水阀未关闭", basis: "令10 第四条(四)", foundAt: t(s),
                   alarmIDs: ["\(plant):bof1-lance:interlock-failed:\(n)"], evidenceFrom: t(s), evidenceTo: t(s))
    h.status = status
    h.history = [Hazard.Change(at: t(s), by: "meltwatch", what: "发现", status: .open)]
    if status == .closed {
        h.closedAt = t(s + 100)
        h.closedBy = "李经理"
        h.history.append(Hazard.Change(at: t(s + 100), by: "李经理", what: "销号", status: .closed))
    }
    return h
}

/// A fresh directory under the system's temporary directory.
private func scratch() throws -> String {
    let dir = NSTemporaryDirectory() + "meltwatch-hazards-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("Hazard store: SQLite through GRDB")
struct HazardStoreTests {
    @Test("records and their history survive closing and reopening; the last write of an id wins")
    func roundTrip() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/" + HazardStore.fileName
        do {
            let store = try HazardStore(path: path)
            try store.save([hazard(1), hazard(2, at: 50), hazard(1, status: .closed)])
        }
        let reopened = try HazardStore(path: path)
        #expect(try reopened.appliedMigrations() == ["v1: hazards and their history"])
        let all = try reopened.hazards()
        #expect(all.map(\.id) == ["HZ-baotou-steel-2026-001", "HZ-baotou-steel-2026-002"])
        #expect(all.first?.status == .closed)
        #expect(all.first?.history.count == 2)
        #expect(try reopened.hazards(status: .open).map(\.id) == ["HZ-baotou-steel-2026-002"])
        #expect(try reopened.hazards(plant: "other").isEmpty)
        #expect(try reopened.hazard("HZ-baotou-steel-2026-001") == hazard(1, status: .closed))
        #expect(try reopened.hazard("HZ-none") == nil)

        // A reader beside the writer (as `meltwatch hazards` beside the daemon), and what sqlite3 sees.
        let reader = try HazardStore(readingFrom: path)
        #expect(try reader.hazards().count == 2)
        #expect(throws: (any Error).self) { try reader.save([hazard(3)]) }
        #expect(throws: HazardStoreError.self) { _ = try HazardStore(readingFrom: dir + "/missing.sqlite") }
    }

    @Test("WAL and synchronous=FULL are in force")
    func pragmas() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try HazardStore(path: dir + "/" + HazardStore.fileName)
        #expect(try store.pragma("journal_mode") == "wal")
        #expect(try store.pragma("synchronous") == "2")  // FULL
    }
}
