import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazards
import MeltWatchRules

/// The rule engine followed by the alarm book and the hazard desk: what the engine thread runs for
/// each input, and what `replay` runs over the journal, so both make the same events and hazards.
/// The desk sees the book's events (the alarm ids the duty room sees) and the interlock outcomes in
/// the order the rules made them; its overdue alarms go into the book at once.
final class AlarmStage {
    private(set) var engine: Engine
    private(set) var book: AlarmBook
    private(set) var hazards: HazardDesk
    /// Events and alarm states produced since the caller last took them.
    private var output = AlarmBook.Output()
    /// How many of `output.events` the hazard desk has seen.
    private var observed = 0
    /// Hazard changes produced since the caller last took them.
    private var hazardOutput = HazardDesk.Output()

    init(engine: Engine, book: AlarmBook, hazards: HazardDesk = HazardDesk()) {
        self.engine = engine
        self.book = book
        self.hazards = hazards
    }

    /// After a (re)start: the engine continues the alarm numbering, latched alarms stay latched, and
    /// the book returns the alarms whose condition the fresh rules have not seen yet.
    func resume(at time: EventTime) {
        for r in book.resumption {
            engine.resume(plant: r.key.plant, equipment: r.key.equipment, rule: r.key.rule,
                          activations: r.activations, latchedOpen: r.latchedOpen)
        }
        book.restarted(at: time, into: &output)
        // The daemon's own alarms return at a fresh start; an overdue hazard is still overdue.
        for h in hazards.openHazards where h.overdue {
            _ = book.perform(.system(rule: HazardDesk.SystemAlarm.rule, raise: true, subject: h.id,
                                     message: HazardDesk.SystemAlarm.overdueMessage(h)), at: time, into: &output)
        }
        observeBook()
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
        observeBook()
        return reload
    }

    /// A reading or a tick through the engine, its events through the book.
    func process(_ input: EngineInput) {
        if case .reading(let r) = input { hazards.advance(to: r.time) }
        engine.process(input, emit: { event in
            book.apply(event, into: &output)
            observeBook()
        }, outcome: { outcome in
            hazards.observe(outcome, into: &hazardOutput)
        })
        switch input {
        case .tick(let now):
            book.tick(now, into: &output)
            observeBook()
            hazards.tick(now, into: &hazardOutput)
            raiseHazardAlarms(at: now)
        case .clockStep(let delta): book.shiftClock(by: delta)
        default: break
        }
        releaseLatches()
    }

    /// An operator's or the daemon's action at `time`. A hazard action goes to the desk; its answer
    /// carries no alarm (the caller reads the hazard from the store once it is written).
    func perform(_ action: AlarmAction, at time: EventTime) -> Result<AlarmRecord?, AlarmActionError> {
        if case .hazard(let step) = action {
            let result = hazards.perform(step, at: time, into: &hazardOutput)
            raiseHazardAlarms(at: time)
            switch result {
            case .success: return .success(nil)
            case .failure(let refusal):
                let code: AlarmActionError.Code = switch refusal.code {
                case .invalid: .invalid
                case .notFound: .notFound
                case .conflict: .conflict
                }
                return .failure(AlarmActionError(code, refusal.message))
            }
        }
        let result = book.perform(action, at: time, into: &output)
        observeBook()
        releaseLatches()
        return result
    }

    /// Shows the hazard desk the book's events it has not seen.
    private func observeBook() {
        guard observed < output.events.count else { return }
        for i in observed..<output.events.count { hazards.observe(output.events[i], into: &hazardOutput) }
        observed = output.events.count
    }

    /// The desk's `hazard-overdue` alarms into the book (the daemon's own alarms, one per hazard).
    private func raiseHazardAlarms(at time: EventTime) {
        guard !hazardOutput.systemAlarms.isEmpty else { return }
        for a in hazardOutput.systemAlarms {
            _ = book.perform(.system(rule: HazardDesk.SystemAlarm.rule, raise: a.raise, subject: a.hazardID, message: a.message),
                             at: time, into: &output)
        }
        hazardOutput.systemAlarms.removeAll()
        observeBook()
    }

    /// Puts a restored desk in place (recovery from a checkpoint; a start seeded from the store).
    func replaceHazards(_ restored: HazardDesk) { hazards = restored }

    /// Takes the hazard records changed so far (for the store; their events go with ``take()``).
    func takeHazards() -> HazardDesk.Output {
        var changed = HazardDesk.Output()
        changed.changed = hazardOutput.changed
        hazardOutput.changed.removeAll()
        return changed
    }

    /// True when there are hazard changes for ``takeHazards()``.
    var hasHazardOutput: Bool { !hazardOutput.changed.isEmpty }

    /// A desk's notice as the duty room's event (`meltwatch.hazard/1`).
    static func notice(_ n: HazardDesk.Notice) -> HazardNotice {
        HazardNotice(eventID: n.eventID, hazardID: n.hazard.id, kind: n.kind.rawValue,
                     hazardClass: n.hazard.hazardClass.rawValue, status: n.hazard.status.rawValue, plant: n.hazard.plant,
                     equipment: n.hazard.equipment, description: n.hazard.description, basis: n.hazard.basis, eventTime: n.at,
                     by: n.by, body: HazardJSON.event(n))
    }

    /// The book's settings of a configuration that changed while the daemon was down.
    func updateSettings(_ settings: AlarmBook.Settings) { book.settings = settings }

    /// Puts a restored book in place (recovery from a checkpoint).
    func replaceBook(_ restored: AlarmBook) { book = restored }

    /// How many events wait in the output (to tell which input caused some).
    var pendingEvents: Int { output.events.count }

    /// True when there is output for ``take()``.
    /// (A folded transition changed an alarm without an event: the duty board is shown again.)
    var hasOutput: Bool {
        !output.events.isEmpty || output.maintenance != nil || output.changedSilently || !hazardOutput.notices.isEmpty
    }

    /// Takes the events (and alarm states) produced so far.
    func take() -> AlarmBook.Output {
        observeBook()
        // The hazard records' events go with the alarm events, after them: stored, then delivered.
        output.hazardNotices += hazardOutput.notices.map(Self.notice)
        hazardOutput.notices.removeAll()
        defer {
            output = AlarmBook.Output()
            observed = 0
        }
        return output
    }

    private func releaseLatches() {
        guard !output.releases.isEmpty else { return }
        for k in output.releases { engine.release(plant: k.plant, equipment: k.equipment, rule: k.rule) }
        output.releases.removeAll()
    }
}
