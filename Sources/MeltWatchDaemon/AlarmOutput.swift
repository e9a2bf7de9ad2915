import Logging
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
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
    func publish(_ output: AlarmBook.Output, book: AlarmBook) {
        let (stored, error) = outbox.store(output, emittedAt: WallClock.now)
        if let error {
            counters.outboxWritable.store(false, ordering: .relaxed)
            logger.critical("alarm outbox write failed: events are delivered from memory but would not survive a restart",
                            metadata: ["outbox.error": "\(error)"])
        }
        for s in stored {
            let e = s.envelope.event
            logger.notice("alarm \(e.kind.rawValue)", metadata: [
                "alarm.id": "\(e.alarmID)", "alarm.rule": "\(e.rule)", "alarm.priority": "\(e.priority.rawValue)",
                "alarm.state": "\(e.state.rawValue)", "alarm.event_time": "\(e.eventTime.rfc3339)", "alarm.message": "\(e.message)",
                "alarm.operator": "\(e.operator ?? "-")",
            ])
            Counter(label: "meltwatch_alarm_events_total", dimensions: [("class", e.alarmClass.rawValue), ("event", e.kind.rawValue)]).increment()
        }
        board.withLockedValue { $0 = book }
        log.append(stored)
    }

    /// The alarm book as of the engine thread's latest change.
    var book: AlarmBook { board.withLockedValue { $0 } }

    /// Copies the engine's view of every signal, at most once a second (engine thread, on ticks).
    func refreshSignals(_ engine: Engine) {
        let now = WallClock.milliseconds()
        let due = lastSignalRefresh.withLockedValue { last -> Bool in
            guard now - last >= 1000 else { return false }
            last = now
            return true
        }
        guard due else { return }
        let health = engine.healthSummary()
        let states = engine.signals
        var snapshot: [SignalSnapshot] = []
        snapshot.reserveCapacity(states.count)
        for (i, s) in states.enumerated() {
            snapshot.append(SignalSnapshot(value: s.value, quality: s.quality, time: s.time, health: health[i]))
        }
        signals.withLockedValue { $0.snapshot = snapshot }
    }

    /// `GET /api/signals`: every configured signal with its last value, event time, quality and health.
    func signalsJSON() -> String {
        let (catalog, snapshot) = signals.withLockedValue { $0 }
        var w = JSONWriter()
        w.beginArray()
        for (i, c) in catalog.enumerated() where i < snapshot.count {
            let s = snapshot[i]
            w.beginObject()
            w.key("plant"); w.string(c.plant)
            w.key("equipment"); w.string(c.equipment)
            w.key("role"); w.string(c.role)
            w.key("topic"); w.string(c.topic)
            w.key("value")
            switch s.value {
            case .number(let d): w.number(d)
            case .bool(let b): w.bool(b)
            case nil: w.string(nil)
            }
            w.key("quality"); w.string(s.time == nil ? nil : s.quality.name)
            w.key("event_time"); w.string(s.time?.rfc3339)
            w.key("health"); w.string(s.health)
            w.endObject()
        }
        w.endArray()
        return w.output
    }
}

extension AlarmOutput {
    /// `GET /api/alarms`: open alarms by priority, then age; `all` adds those recently back to normal.
    static func alarmsJSON(_ book: AlarmBook, includeClosed: Bool, plantNames: [String: String]) -> String {
        var records = Array(book.open.values)
        records.sort { ($0.last.priority, $0.raisedAt, $0.id) < ($1.last.priority, $1.raisedAt, $1.id) }
        if includeClosed { records += book.closed.reversed() }
        var w = JSONWriter()
        w.beginArray()
        for r in records { r.write(into: &w, maintenance: book.maintenance(of: r), plantName: plantNames[r.last.plant]) }
        w.endArray()
        return w.output
    }
}
