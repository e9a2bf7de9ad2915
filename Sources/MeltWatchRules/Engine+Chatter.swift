import MeltWatchCore

/// Chattering (ISA-18.2 / EEMUA 191, domain.md "Alarm management"): a rule that raises three times
/// within a minute on one equipment is itself reported, as a `chattering` device alarm (basis
/// 令10 第十四条: an alarm that cries wolf is an ineffective alarm), one per episode. The episode,
/// and the alarm, end once a whole minute passes without another raise of that rule
/// (``ChatterDetector``). The alarm's `cause` names the chattering rule: the alarm book folds that
/// rule's transitions on the equipment while the episode lasts (their state stays current; the duty
/// room hears of them at most once a minute).
extension EngineCore {
    static let chatterRule = AlarmEvent.chatteringRule

    /// State of chattering detection for one (equipment, rule).
    struct Chatter: Codable {
        var detector = ChatterDetector()
        var track = Engine.AlarmTrack()
    }

    /// A rule raised on equipment `e` at `time`: counts the activation, raises `chattering` when it
    /// makes the rule chatter.
    mutating func noteRaise(equipment e: Int, rule: Int, at time: EventTime) {
        let key = ChatterKey(equipment: e, rule: rule)
        var c = chatter[key] ?? Chatter()
        let episodeEnd = c.detector.deadline
        if c.detector.activation(at: time) {
            chatterActivations[e, default: 0] += 1
            c.track = Engine.AlarmTrack(activations: chatterActivations[e]!, ordinal: 1, active: true)
            openEpisodes += 1
            emitChatter(e, rule: rule, c, raised: true, at: time)
        } else if c.track.active, !c.detector.isChattering, let episodeEnd {
            // This raise came after the window emptied: the old episode ended first, at its own time.
            closeEpisode(e, rule: rule, &c, endedAt: episodeEnd)
        }
        chatter[key] = c
        refreshChatterDeadline(e)
    }

    /// Ends the chattering episodes of equipment `e` whose window emptied by `time`.
    mutating func advanceChatter(equipment e: Int, to time: EventTime) {
        guard openEpisodes > 0, let due = chatterDeadlines[e], time >= due else { return }
        for rule in model.equipment[e].template.rules.indices {
            let key = ChatterKey(equipment: e, rule: rule)
            guard var c = chatter[key], c.track.active, let end = c.detector.deadline, c.detector.advance(to: time) else { continue }
            closeEpisode(e, rule: rule, &c, endedAt: end)
            chatter[key] = c
        }
        refreshChatterDeadline(e)
    }

    /// The earliest time a chattering episode of equipment `e` ends, if one is open (per reading: an
    /// array read, recomputed only when an episode opens or closes).
    func chatterDeadline(equipment e: Int) -> EventTime? { chatterDeadlines[e] }

    private mutating func refreshChatterDeadline(_ e: Int) {
        var best: EventTime?
        for rule in model.equipment[e].template.rules.indices {
            guard let c = chatter[ChatterKey(equipment: e, rule: rule)], c.track.active, let d = c.detector.deadline else { continue }
            if best == nil || d < best! { best = d }
        }
        chatterDeadlines[e] = best
    }

    /// Clears the chattering alarm; `deadline` is the detector's (one millisecond past the window),
    /// reported as the window's end, the last moment the episode still held.
    private mutating func closeEpisode(_ e: Int, rule: Int, _ c: inout Chatter, endedAt deadline: EventTime) {
        c.track.ordinal += 1
        c.track.active = false
        openEpisodes -= 1
        emitChatter(e, rule: rule, c, raised: false, at: deadline.adding(milliseconds: -1))
    }

    private mutating func emitChatter(_ e: Int, rule: Int, _ c: Chatter, raised: Bool, at time: EventTime) {
        let eq = model.equipment[e]
        let spec = eq.template.rules[rule]
        let window = c.detector.windowMilliseconds / 1000
        let message = raised
            ? "报警 \(spec.id) 在 \(window) s 内动作 \(c.detector.threshold) 次，报警振荡，请检查仪表或报警设定 (chattering: \(spec.id) raised \(c.detector.threshold) times within \(window) s)"
            : "报警 \(spec.id) 已 \(window) s 无新动作，振荡结束 (chattering ended)"
        counters.events += 1
        notices.append(.event(AlarmEvent(
            kind: raised ? .raised : .cleared, state: raised ? .activeUnacked : .rtnUnacked, alarmClass: .device,
            rule: Self.chatterRule, priority: .low, plant: eq.plant, equipment: eq.id,
            activation: c.track.activations, ordinal: c.track.ordinal, signals: spec.signals,
            value: raised ? Double(c.detector.threshold) : nil, limit: Double(c.detector.threshold), unit: nil, cause: spec.id,
            basis: Self.deviceBasis, message: message, eventTime: time, configHash: model.configHash
        )))
    }
}

/// Identifies one rule of one equipment for chattering detection.
struct ChatterKey: Hashable, Codable {
    var equipment: Int
    var rule: Int
}
