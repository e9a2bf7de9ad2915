import MeltWatchCore

/// Setpoint audit (domain.md, every template): where the gateway publishes the PLC's own alarm and
/// interlock setpoints, each is compared with its approved value. `setpoint-mismatch` (interlock
/// class, high) is raised while a setpoint differs from its approved value by more than its
/// tolerance, naming the setpoint, its source, the value and the approved value, and cleared when it
/// is back within; every change of a setpoint, within tolerance or not, is handed to
/// ``Engine/onSetpointChange`` for the audit report (the journal holds every message anyway).
///
/// A setpoint is a signal of its equipment with a role after the template's; it is not a rule input
/// and the monitor never sees it. A bad or non-finite reading says nothing about the PLC's value: it
/// changes no state (the value stays the last good one). Setpoints have no sensor-health judgement
/// (a setpoint published on change may be silent for months).
extension EngineCore {
    static let setpointRule = TemplateCatalog.setpointRule.id

    mutating func applySetpoint(_ r: Reading, signal i: Int, equipment e: Int, setpoint k: Int, previous: Value?) {
        let v = r.value.asDouble
        guard r.quality != .bad, v.isFinite else { return }
        signals[i] = SignalState(value: r.value, quality: r.quality, time: r.time, sequence: r.sequence)
        let eq = model.equipment[e]
        let sp = eq.setpoints[k]
        let before = previous?.asDouble
        if before != v {
            notices.append(.setpoint(SetpointChange(
                plant: eq.plant, equipment: eq.id, name: sp.name, source: sp.source, value: v, previous: before,
                approved: sp.approved, tolerance: sp.tolerance, unit: sp.unit, time: r.time
            )))
        }
        let mismatch = SetpointChange.mismatch(v, approved: sp.approved, tolerance: sp.tolerance)
        var track = setpointTracks[i]
        guard track.transition(raised: mismatch, activations: &setpointActivations[e]) else { return }
        setpointTracks[i] = track
        counters.events += 1
        let unit = sp.unit.map { " \($0)" } ?? ""
        let message = mismatch
            ? "PLC 设定值 \(sp.name) (\(sp.source)) = \(show(v))\(unit)，与审批值 \(show(sp.approved))\(unit) 相差超过 \(show(sp.tolerance))\(unit) (setpoint differs from its approved value)"
            : "PLC 设定值 \(sp.name) (\(sp.source)) = \(show(v))\(unit)，已与审批值 \(show(sp.approved))\(unit) 一致 (setpoint back within tolerance)"
        let spec = TemplateCatalog.setpointRule
        notices.append(.event(AlarmEvent(
            kind: mismatch ? .raised : .cleared, state: mismatch ? .activeUnacked : .rtnUnacked, alarmClass: spec.alarmClass,
            rule: spec.id, priority: spec.priority, plant: eq.plant, equipment: eq.id, activation: track.activations,
            ordinal: track.ordinal, signals: [sp.name], value: v, limit: sp.approved, unit: sp.unit,
            cause: "\(sp.name) (\(sp.source))", basis: spec.basis, message: message, eventTime: r.time,
            configHash: model.configHash
        )))
    }
}
