import Logging
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDuty
import MeltWatchRules
import Metrics
import NIOConcurrencyHelpers

/// Where the engine thread's alarm work goes: events into the outbox (durable), then into the event
/// log (delivery channels, SSE); the alarm book and the signals into boards the duty API reads.
final class AlarmOutput: Sendable {
    let inbox: ActionInbox
    let log: EventLog
    private let outbox: Outbox
    private let logger: Logger
    private let counters: IngestCounters
    private let board: NIOLockedValueBox<AlarmBook>
    /// Static facts of every configured signal, by ``SignalID`` (replaced by a reload), and per
    /// signal what the engine last knew.
    private let signals: NIOLockedValueBox<(catalog: [ConfiguredSignal], snapshot: [SignalSnapshot])>
    private let lastSignalRefresh = NIOLockedValueBox<Int64>(0)
    /// The sequence every delivering channel has delivered (set once delivery exists), and when the
    /// outbox was last compacted (monotonic ms).
    private let deliveryFloor = NIOLockedValueBox<(@Sendable () -> Int64)?>(nil)
    private let lastCompaction = NIOLockedValueBox<Int64>(0)
    /// How often (at most) the outbox is compacted while running.
    static let compactionIntervalMilliseconds: Int64 = 30_000
    /// What the outbox failed to store, oldest first: unnumbered, so not delivered yet; stored ahead
    /// of the next output, or by ``retryUnstored()`` (engine thread).
    private let unstored = NIOLockedValueBox<(output: AlarmBook.Output?, lastTry: Int64, lastLog: Int64)>((nil, 0, 0))

    /// One signal as the duty room's overview shows it.
    struct SignalSnapshot: Sendable {
        var value: Value?
        var quality: Quality
        var time: EventTime?
        var health: String
    }

    init(inbox: ActionInbox, log: EventLog, outbox: Outbox, book: AlarmBook, signals: [ConfiguredSignal],
         counters: IngestCounters, logger: Logger) {
        self.inbox = inbox
        self.log = log
        self.outbox = outbox
        self.logger = logger
        self.counters = counters
        board = NIOLockedValueBox(book)
        self.signals = NIOLockedValueBox((signals, Self.unknown(signals)))
    }

    private static func unknown(_ signals: [ConfiguredSignal]) -> [SignalSnapshot] {
        signals.map { _ in SignalSnapshot(value: nil, quality: .good, time: nil, health: "unknown") }
    }

    /// A reload replaced the configured signals (engine thread, at the reload's point in the stream):
    /// the board shows the new list at once, then the engine's state of it.
    func reconfigure(signals catalog: [ConfiguredSignal], engine: Engine) {
        signals.withLockedValue { $0 = (catalog, Self.unknown(catalog)) }
        lastSignalRefresh.withLockedValue { $0 = 0 }
        refreshSignals(engine)
    }

    /// Stores the events durably, then hands them to delivery and SSE, and shows the book.
    /// Returns when the events were handed to delivery and SSE (`CLOCK_MONOTONIC` ns; nil when none were).
    @discardableResult
    func publish(_ output: AlarmBook.Output, book: AlarmBook) -> UInt64? {
        let handed = store(output)
        board.withLockedValue { $0 = book }
        return handed
    }

    /// Stores what an earlier publish could not, once a second at most while the outbox fails
    /// (engine thread, on ticks): an alarm must not wait for the next one to reach the duty room.
    func retryUnstored() {
        let now = Monotonic.milliseconds()
        let due = unstored.withLockedValue { u -> Bool in
            guard u.output != nil, now - u.lastTry >= 1000 else { return false }
            u.lastTry = now
            return true
        }
        if due { _ = store(AlarmBook.Output()) }
    }

    /// Stores what waits and `output` after it; delivers what was stored. A failed store numbers
    /// nothing (``Outbox/store(_:emittedAt:)``): its events wait here, in order, and are neither
    /// delivered nor given a number a later event could get — a delivery cursor past a number the
    /// outbox hands out again would skip that event for good. The duty room hears of the failure
    /// as `journal-failed` (subject `outbox`), stored with the waiting events once the outbox can
    /// write again; until then `/readyz` shows the outbox not writable and the log says why.
    private func store(_ output: AlarmBook.Output) -> UInt64? {
        let batch = unstored.withLockedValue { u -> AlarmBook.Output in
            defer { u.output = nil }
            guard var waiting = u.output else { return output }
            waiting.events += output.events
            waiting.records += output.records
            waiting.maintenance = output.maintenance ?? waiting.maintenance
            waiting.hazardNotices += output.hazardNotices
            return waiting
        }
        guard !batch.events.isEmpty || batch.maintenance != nil || !batch.hazardNotices.isEmpty else { return nil }
        let (stored, error) = outbox.store(batch, emittedAt: WallClock.now)
        if let error {
            // No event back: nothing of the batch was stored; it waits. Events back: stored, and only
            // what came after (starting the next segment) failed.
            let now = Monotonic.milliseconds()
            let first = counters.outboxWritable.exchange(false, ordering: .relaxed)
            let log = unstored.withLockedValue { u -> Bool in
                if stored.isEmpty { (u.output, u.lastTry) = (batch, now) }
                guard first || now - u.lastLog >= 60_000 else { return false }  // retried every second
                u.lastLog = now
                return true
            }
            if log {
                logger.critical("alarm outbox write failed: its events wait in memory, unnumbered, and are delivered once it stores them", metadata: [
                    "outbox.error": "\(error)", "outbox.waiting_events": "\(stored.isEmpty ? batch.events.count : 0)",
                ])
            }
            if first {
                inbox.submit(.system(rule: "journal-failed", raise: true, subject: "outbox",
                                     message: "报警发件箱写入失败，报警事件暂存内存，恢复写入后送出：\(error) (alarm outbox write failed: events wait in memory until it stores them)"))
            }
        } else if !counters.outboxWritable.exchange(true, ordering: .relaxed) {
            logger.notice("alarm outbox writes again: the events that waited are stored and delivered", metadata: [
                "outbox.stored_events": "\(stored.count)",
            ])
            inbox.submit(.system(rule: "journal-failed", raise: false, subject: "outbox",
                                 message: "报警发件箱恢复写入，暂存的报警事件已送出 (alarm outbox writes again; the waiting events are delivered)"))
        }
        log.append(stored)  // delivery and SSE first; the log lines and counters after
        let handed = stored.isEmpty ? nil : Monotonic.nanoseconds()
        for s in stored {
            if let n = s.envelope.hazard {
                logger.notice("hazard \(n.kind)", metadata: [
                    "hazard.id": "\(n.hazardID)", "hazard.class": "\(n.hazardClass)", "hazard.status": "\(n.status)",
                    "hazard.event_time": "\(n.eventTime.rfc3339)", "hazard.by": "\(n.by)", "hazard.description": "\(n.description)",
                ])
                continue
            }
            let e = s.envelope.event
            logger.notice("alarm \(e.kind.rawValue)", metadata: [
                "alarm.id": "\(e.alarmID)", "alarm.rule": "\(e.rule)", "alarm.priority": "\(e.priority.rawValue)",
                "alarm.state": "\(e.state.rawValue)", "alarm.event_time": "\(e.eventTime.rfc3339)", "alarm.message": "\(e.message)",
                "alarm.operator": "\(e.operator ?? "-")",
            ])
            Counter(label: "meltwatch_alarm_events_total", dimensions: [("class", e.alarmClass.rawValue), ("event", e.kind.rawValue)]).increment()
        }
        return handed
    }

    /// The alarm book as of the engine thread's latest change.
    var book: AlarmBook { board.withLockedValue { $0 } }

    /// Tells the outbox how far every delivering channel has got, for compaction while running.
    func compact(deliveredThrough floor: @escaping @Sendable () -> Int64) {
        deliveryFloor.withLockedValue { $0 = floor }
    }

    /// Compacts the outbox at most every ``compactionIntervalMilliseconds`` (engine thread): the
    /// book is written and the segments every delivering channel has delivered go, so the outbox
    /// does not grow with time (domain.md "Every queue has a bound"). Not while events wait unstored:
    /// the book would be ahead of what the outbox holds.
    private func compactIfDue(now: Int64) {
        guard let floor = deliveryFloor.withLockedValue({ $0 }),
              unstored.withLockedValue({ $0.output == nil }) else { return }
        let due = lastCompaction.withLockedValue { last -> Bool in
            guard now - last >= Self.compactionIntervalMilliseconds else { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            for removed in try outbox.compactIfDue(book.snapshot, deliveredThrough: floor(), at: WallClock.now) {
                logger.info("alarm outbox: removed a segment every channel had delivered (the book kept)", metadata: ["outbox.segment": "\(removed)"])
            }
        } catch {
            logger.error("alarm outbox compaction failed; it is tried again later", metadata: ["outbox.error": "\(error)"])
        }
    }

    /// Copies the engine's view of every signal, at most once a second (engine thread, on ticks);
    /// retries storing the events the outbox failed to store.
    func refreshSignals(_ engine: Engine) {
        retryUnstored()
        let now = Monotonic.milliseconds()
        let due = lastSignalRefresh.withLockedValue { last -> Bool in
            guard now - last >= 1000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        compactIfDue(now: now)
        let health = engine.healthSummary()
        let states = engine.signals
        var snapshot: [SignalSnapshot] = []
        snapshot.reserveCapacity(states.count)
        for (i, s) in states.enumerated() {
            snapshot.append(SignalSnapshot(value: s.value, quality: s.quality, time: s.time, health: health[i]))
        }
        signals.withLockedValue { $0.snapshot = snapshot }
    }

    /// Every configured signal with the engine's view of it as last copied (`GET /api/signals`).
    var signalRows: [DutySignal] {
        let (catalog, snapshot) = signals.withLockedValue { $0 }
        return zip(catalog, snapshot).map { c, s in
            DutySignal(plant: c.plant, equipment: c.equipment, role: c.role, topic: c.topic, value: s.value, quality: s.quality,
                       eventTime: s.time, health: s.health)
        }
    }
}
