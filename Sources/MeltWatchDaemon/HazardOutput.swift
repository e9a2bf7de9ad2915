import Logging
import MeltWatchCore
import MeltWatchHazards
import MeltWatchHazardStore
import NIOConcurrencyHelpers

/// Where the engine thread's hazard changes go: the database (written before an operator's request
/// is answered, so the answer and `meltwatch hazards` show the step).
///
/// The journal is the record and the desk's state rides in every checkpoint, so a write that fails
/// loses nothing: the changes wait here and are written again on the next tick (once a second at
/// most), and every start writes the desk's records again. `/readyz` shows the store not writable
/// meanwhile.
final class HazardOutput: Sendable {
    let store: HazardStore
    private let logger: Logger
    private let waiting = NIOLockedValueBox<(changes: [Hazard], lastTry: Int64, failing: Bool)>(([], 0, false))

    init(store: HazardStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Whether the last write succeeded.
    var writable: Bool { !waiting.withLockedValue { $0.failing } }

    /// Writes the changed records (and what waits) (engine thread). Their events went with the alarm
    /// events through the outbox (``AlarmStage/take()``), which logs them.
    func publish(_ output: HazardDesk.Output) {
        write(output.changed)
    }

    /// Writes what waits, at most once a second while the store fails (engine thread, on ticks).
    func retry() {
        let now = Monotonic.milliseconds()
        let due = waiting.withLockedValue { w in
            guard !w.changes.isEmpty, now - w.lastTry >= 1000 else { return false }
            w.lastTry = now
            return true
        }
        if due { write([]) }
    }

    private func write(_ changes: [Hazard]) {
        let batch = waiting.withLockedValue { w -> [Hazard] in
            defer { w.changes = [] }
            return w.changes + changes
        }
        guard !batch.isEmpty else { return }
        do {
            try store.save(batch)
            let recovered = waiting.withLockedValue { w in
                defer { w.failing = false }
                return w.failing
            }
            if recovered { logger.notice("hazard database writes again", metadata: ["hazards.path": "\(store.path)"]) }
        } catch {
            let first = waiting.withLockedValue { w -> Bool in
                w.changes = batch + w.changes
                w.lastTry = Monotonic.milliseconds()
                defer { w.failing = true }
                return !w.failing
            }
            if first {
                logger.critical("hazard database write failed: the changes wait in memory and are written again (the journal keeps them)",
                                metadata: ["hazards.path": "\(store.path)", "hazards.error": "\(error)"])
            }
        }
    }
}
