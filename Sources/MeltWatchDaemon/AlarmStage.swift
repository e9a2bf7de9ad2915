import MeltWatchAlarms
import MeltWatchCore
import MeltWatchRules

/// The rule engine followed by the alarm book: what the engine thread runs for each input, and what
/// `replay` runs over the journal, so both make the same events.
final class AlarmStage {
    private(set) var engine: Engine
    private(set) var book: AlarmBook
    /// Events and alarm states produced since the caller last took them.
    private var output = AlarmBook.Output()

    init(engine: Engine, book: AlarmBook) {
        self.engine = engine
        self.book = book
    }

    /// After a (re)start: the engine continues the alarm numbering, latched alarms stay latched, and
    /// the book returns the alarms whose condition the fresh rules have not seen yet.
    func resume(at time: EventTime) {
        for r in book.resumption {
            engine.resume(plant: r.key.plant, equipment: r.key.equipment, rule: r.key.rule,
                          activations: r.activations, latchedOpen: r.latchedOpen)
        }
        book.restarted(at: time, into: &output)
    }

    /// A configuration reload at `time` (the daemon clock where it entered the stream): the rules of
    /// unchanged equipment continue, the others start fresh with their numbering resumed from the
    /// book, and their open alarms return (cause `reload`).
    @discardableResult
    func reload(_ model: EngineModel, at time: EventTime) -> EngineReload {
        let (next, reload) = Engine.reloading(engine, into: model)
        engine = next
        for r in book.resumption where !reload.carried.contains("\(r.key.plant):\(r.key.equipment)") {
            engine.resume(plant: r.key.plant, equipment: r.key.equipment, rule: r.key.rule,
                          activations: r.activations, latchedOpen: r.latchedOpen)
        }
        book.reloaded(at: time, carried: reload.carried, present: Set(model.equipment.map { "\($0.plant):\($0.id)" }),
                      configHash: model.configHash, into: &output)
        return reload
    }

    /// A reading or a tick through the engine, its events through the book.
    func process(_ input: EngineInput) {
        engine.process(input) { event in book.apply(event, into: &output) }
        switch input {
        case .tick(let now): book.tick(now, into: &output)
        case .clockStep(let delta): book.shiftClock(by: delta)
        default: break
        }
        releaseLatches()
    }

    /// An operator's or the daemon's action at `time`.
    func perform(_ action: AlarmAction, at time: EventTime) -> Result<AlarmRecord?, AlarmActionError> {
        let result = book.perform(action, at: time, into: &output)
        releaseLatches()
        return result
    }

    /// The book's settings of a configuration that changed while the daemon was down.
    func updateSettings(_ settings: AlarmBook.Settings) { book.settings = settings }

    /// Puts a restored book in place (recovery from a checkpoint).
    func replaceBook(_ restored: AlarmBook) { book = restored }

    /// How many events wait in the output (to tell which input caused some).
    var pendingEvents: Int { output.events.count }

    /// True when there is output for ``take()``.
    /// (A folded transition changed an alarm without an event: the duty board is shown again.)
    var hasOutput: Bool { !output.events.isEmpty || output.maintenance != nil || output.changedSilently }

    /// Takes the events (and alarm states) produced so far.
    func take() -> AlarmBook.Output {
        defer { output = AlarmBook.Output() }
        return output
    }

    private func releaseLatches() {
        guard !output.releases.isEmpty else { return }
        for k in output.releases { engine.release(plant: k.plant, equipment: k.equipment, rule: k.rule) }
        output.releases.removeAll()
    }
}
