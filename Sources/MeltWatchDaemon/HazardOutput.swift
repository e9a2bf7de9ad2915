import Logging
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazardStore
import MeltWatchHazards
import NIOConcurrencyHelpers

/// Where the engine thread's hazard changes go: the database, written before an operator's request
/// is answered, so the answer and `meltwatch hazards` show the step. (Their events went with the
/// alarm events through the outbox, ``AlarmStage/take()``.)
///
/// The monitoring never waits for it. The journal is the record and the desk's state rides in every
/// checkpoint, so a database that cannot be opened or written loses nothing: the changes wait here
/// and are written on the next tick (once a second at most), every start writes the desk's records
/// again, and meanwhile the daemon's own alarm `hazard-store-failed` tells the duty room and the API
/// answers hazard reads with 503. The alarm path runs on regardless.
final class HazardOutput: Sendable {
    let path: String
    private let logger: Logger
    private let inbox: ActionInbox
    private struct State {
        var store: HazardStore?
        var waiting: [Hazard] = []
        var lastTry: Int64 = 0
        var failure: String?
    }

    private let state = NIOLockedValueBox(State())

    /// The daemon's own alarm while the database cannot be written.
    static let rule = "hazard-store-failed"

    /// Opens the database at `path` (a failure is told and retried, never thrown).
    init(path: String, logger: Logger, inbox: ActionInbox) {
        self.path = path
        self.logger = logger
        self.inbox = inbox
        _ = opened()
    }

    /// The database, when open.
    var store: HazardStore? { state.withLockedValue { $0.store } }

    /// Whether the last write (or opening) succeeded.
    var writable: Bool { state.withLockedValue { $0.failure == nil } }

    /// Writes the changed records and what waits (engine thread).
    func publish(_ output: HazardDesk.Output) {
        write(output.changed)
    }

    /// Writes these records (at start: what recovery replayed and every record not closed).
    func write(_ changes: [Hazard]) {
        let batch = state.withLockedValue { s -> [Hazard] in
            defer { s.waiting = [] }
            return s.waiting + changes
        }
        guard !batch.isEmpty else { return }
        do {
            guard let store = opened() else { throw HazardStoreError(description: state.withLockedValue { $0.failure } ?? "not open") }
            try store.save(batch)
            succeeded()
        } catch {
            state.withLockedValue { s in
                s.waiting = batch + s.waiting
                s.lastTry = Monotonic.milliseconds()
            }
            failed("\(error)")
        }
    }

    /// Opens the database and writes what waits, at most once a second while that fails (engine
    /// thread, on ticks).
    func retry() {
        let now = Monotonic.milliseconds()
        let due = state.withLockedValue { s in
            guard s.failure != nil || !s.waiting.isEmpty, now - s.lastTry >= 1000 else { return false }
            s.lastTry = now
            return true
        }
        guard due else { return }
        if state.withLockedValue({ $0.waiting.isEmpty }) {
            if opened() != nil { succeeded() }
        } else {
            write([])
        }
    }

    private func opened() -> HazardStore? {
        if let store = state.withLockedValue({ $0.store }) { return store }
        do {
            let store = try HazardStore(path: path)
            state.withLockedValue { $0.store = store }
            return store
        } catch {
            state.withLockedValue { $0.lastTry = Monotonic.milliseconds() }
            failed("cannot open the hazard database: \(error)")
            return nil
        }
    }

    private func failed(_ reason: String) {
        let first = state.withLockedValue { s -> Bool in
            defer { s.failure = reason }
            return s.failure == nil
        }
        guard first else { return }
        logger.critical("hazard database failed: the records wait in memory and are written again (the journal keeps them); monitoring goes on",
                        metadata: ["hazards.path": "\(path)", "hazards.error": "\(reason)"])
        inbox.submit(.system(rule: Self.rule, raise: true, subject: "hazards",
                             message: "隐患数据库写入失败，隐患记录暂存内存并持续重试（日志保留全部记录）：\(reason) (hazard database failed; records wait and are retried)"))
    }

    private func succeeded() {
        let recovered = state.withLockedValue { s -> Bool in
            defer { s.failure = nil }
            return s.failure != nil
        }
        guard recovered else { return }
        logger.notice("hazard database writes again", metadata: ["hazards.path": "\(path)"])
        inbox.submit(.system(rule: Self.rule, raise: false, subject: "hazards",
                             message: "隐患数据库恢复写入 (hazard database writes again)"))
    }
}
