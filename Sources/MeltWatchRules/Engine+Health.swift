import MeltWatchCore

/// Sensor health for every role of every template (domain.md "Sensor health", basis 令10 第十四条):
/// the engine judges each signal with a ``SignalHealth`` and raises `stale`, `frozen` and
/// `bad-quality` as `device` alarms naming the sick signal; the equipment's monitor is told, so an
/// interlock check waiting on an unhealthy feedback fails with that cause.
extension Engine {
    static let deviceBasis = "令10 第十四条"

    /// True unless the equipment's gate signal last said it is not operating (unknown counts as operating).
    func isOperating(_ e: Int) -> Bool {
        guard let gate = gateSignals[e], let value = signals[gate].value else { return true }
        return value.asBool
    }

    /// Advances every signal's health to the daemon clock `now` (stale fires with no input at all).
    func tickHealth(_ now: EventTime, emit: (AlarmEvent) -> Void) {
        for i in health.indices where health[i] != nil {
            let changes = health[i]!.tick(daemonTime: now, operating: isOperating(model.signals[i].equipment))
            if !changes.isEmpty {
                let e = model.signals[i].equipment
                outputs.removeAll(keepingCapacity: true)
                applyHealth(changes, signal: i, emit: emit)
                publish(equipment: e, emit: emit)
                schedule(e)
            }
        }
    }

    /// Emits device alarm events for health transitions and tells the monitor about its role.
    /// Rule outputs the monitor produces are left in `outputs` for the caller to publish.
    func applyHealth(_ changes: [HealthTransition], signal i: Int, emit: (AlarmEvent) -> Void) {
        let binding = model.signals[i]
        let e = binding.equipment
        let eq = model.equipment[e]
        let role = eq.template.roles[binding.role]
        for change in changes {
            let c = SignalHealth.Condition.allCases.firstIndex(of: change.condition)!
            var track = deviceTracks[i][c]
            guard track.active != change.raised else { continue }
            if change.raised {
                deviceActivations[e][c] += 1
                track = AlarmTrack(activations: deviceActivations[e][c], ordinal: 1, active: true)
            } else {
                track.ordinal += 1
                track.active = false
            }
            deviceTracks[i][c] = track
            counters.events += 1
            let name = Self.conditionNames[change.condition] ?? change.condition.rawValue
            emit(AlarmEvent(
                kind: change.raised ? .raised : .cleared, state: change.raised ? .activeUnacked : .rtnUnacked,
                alarmClass: .device, rule: change.condition.rawValue, priority: .high, plant: eq.plant, equipment: eq.id,
                activation: track.activations, ordinal: track.ordinal, signals: [role.name],
                value: signals[i].value?.asDouble, limit: nil, unit: role.unit, basis: Self.deviceBasis,
                message: "\(role.name) \(name)\(change.raised ? "" : "已恢复")：\(change.detail)",
                eventTime: change.at, configHash: model.configHash
            ))
        }
        let faults = health[i]?.faults ?? []
        let at = changes.last?.at ?? EventTime(milliseconds: 0)
        monitors[e].health(role: binding.role, healthy: faults.isEmpty, fault: faults.first?.rawValue, at: at, into: &outputs)
    }

    static let conditionNames: [SignalHealth.Condition: String] = [
        .stale: "信号中断 (stale)", .frozen: "数值冻结 (frozen)", .badQuality: "信号质量坏 (bad quality)",
    ]
}
