import MeltWatchCore

/// `dust.wet-collector`: a wet dust collector (scrubber, water-film or water-bath collector), which
/// must never run dry (忻应急发〔2024〕216号: 湿式除尘干式运行).
///
/// `running-dry` is one alarm for one condition: the fan runs and the water is missing, i.e. water
/// flow below `water_flow_min` or level below `water_level_min` (strict `<`: exactly at a minimum is
/// enough water). The combined condition must hold for `on_delay_s`; it is watched as 1/0 against 0.5,
/// so a flow shortage that turns into a level shortage counts as one continuous spell. It clears at
/// once when the fan stops (nothing is drawn through a dry collector) or when both are back at or
/// above their minimums; there is no deadband (none is documented for this template), so the
/// on-delay is what keeps a flow hovering at its minimum from chattering. The clear message says
/// which of the two ended it.
///
/// `water_level` is in the site transmitter's unit: mm by convention, but many scrubbers report %
/// of the tank, so `water_level_min` takes whatever that unit is and messages print the level
/// without a unit. Its default 0 turns the level criterion off (no number fits both units);
/// `water_flow_min` 0 turns the flow criterion off likewise.
///
/// The alarm's `value`/`limit` are the flow and `water_flow_min` (unit L/min) when the flow is short;
/// when only the level is, they are null and the message carries the level (one unit per rule).
/// An unknown fan state counts as running (the engine's gate does the same); a bad-quality fan
/// reading keeps the last state. A bad, NaN or infinite flow or level is no evidence: if the other
/// criterion does not show a shortage on its own, a pending raise is cancelled and an active alarm
/// stays active (sensor-health alarms report the signal).
enum WetCollector {
    static let basis = "忻应急发〔2024〕216号: 湿式除尘干式运行"

    static let spec = TemplateSpec(
        id: .wetCollector,
        summary: "a wet dust collector (scrubber) that must not run dry",
        roles: [
            RoleSpec(name: "water_level", kind: .number(unit: "mm"), isOptional: false,
                     summary: "water level; the site's unit may be % of the tank"),
            RoleSpec(name: "water_flow", kind: .number(unit: "L/min"), isOptional: false, summary: "spray / circulation water flow"),
            RoleSpec(name: "fan_running", kind: .bool, isOptional: false, summary: "collector fan running (gate)"),
        ],
        params: [
            ParamSpec(name: "water_flow_min", kind: .number(unit: "L/min", minimum: 0), defaultValue: .number(50),
                      isSitePlaceholder: true, summary: "water flow below this while the fan runs is running dry; 0 = off"),
            ParamSpec(name: "water_level_min", kind: .number(unit: "mm", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: true, summary: "level below this (in the transmitter's unit, mm or %) is running dry; 0 = off"),
            ParamSpec(name: "on_delay_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(10),
                      isSitePlaceholder: true, summary: "how long the collector must run without water before it alarms"),
        ] + TemplateCatalog.healthParams,
        rules: [
            RuleSpec(id: "running-dry", alarmClass: .process, priority: .high, basis: basis,
                     signals: ["water_flow", "water_level", "fan_running"], unit: "L/min",
                     summary: "fan running and water flow < `water_flow_min` or level < `water_level_min` (0 = off) for `on_delay_s`; clears when the fan stops or both are back"),
        ],
        makeMonitor: { Monitor(params: $0) },
        gateRole: "fan_running"
    )

    private static let levelRole = spec.roles.index("water_level")
    private static let flowRole = spec.roles.index("water_flow")
    private static let fanRole = spec.roles.index("fan_running")

}

extension WetCollector {
    /// The running-dry condition and the inputs it reads.
    struct State: TemplateState {
        /// The template's role indices, copied once: a `static let` is a lazy-initialisation check per use.
        var levelRole = WetCollector.levelRole, flowRole = WetCollector.flowRole, fanRole = WetCollector.fanRole
        let flowMinimum: Double
        let levelMinimum: Double
        var flow: Double?
        var level: Double?
        /// The fan gate's last good value; nil while unknown (never reported, bad, stale), and an
        /// unknown gate is open (domain.md): a scrubber running dry must alarm when nobody can say the fan stopped.
        var fan: Bool?
        var fanRunning: Bool { fan ?? true }
        /// The combined condition as 1/0 against 0.5.
        var dry: LimitMonitor

        init(params: [String: ParamValue]) {
            flowMinimum = params.number("water_flow_min")
            levelMinimum = params.number("water_level_min")
            dry = LimitMonitor(direction: .high, limit: 0.5, onDelayMilliseconds: Int64(params.number("on_delay_s") * 1000))
        }

        var nextDeadline: EventTime? { dry.deadline }

        mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
            if let t = dry.advance(to: time) { out.append(output(t)) }
        }

        mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
            let usable: Double? = quality == .bad || !value.asDouble.isFinite ? nil : value.asDouble
            switch role {
            case flowRole: flow = usable
            case levelRole: level = usable
            case fanRole: fan = usable.map { $0 != 0 }
            default: return
            }
            evaluate(at: time, into: &out)
        }

        /// The fan gate going unhealthy (stale) makes it unknown, so open.
        mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
            guard role == fanRole, !healthy, fan != nil else { return }
            fan = nil
            evaluate(at: time, into: &out)
        }

        /// Whether flow is short: nil when the criterion is on but the flow unknown.
        private var flowShort: Bool? { flowMinimum > 0 ? flow.map { $0 < flowMinimum } : false }
        private var levelShort: Bool? { levelMinimum > 0 ? level.map { $0 < levelMinimum } : false }

        private mutating func evaluate(at time: EventTime, into out: inout [RuleOutput]) {
            let condition: Bool
            if !fanRunning {
                condition = false
            } else {
                let flowShort = self.flowShort, levelShort = self.levelShort
                if flowShort == true || levelShort == true {
                    condition = true
                } else if flowShort == nil || levelShort == nil {
                    dry.cancelPending()  // no evidence either way
                    return
                } else {
                    condition = false
                }
            }
            if let t = dry.update(condition ? 1 : 0, at: time) { out.append(output(t)) }
        }

        private func output(_ t: LimitMonitor.Transition) -> RuleOutput {
            switch t {
            case .raised(let at, _):
                var parts: [String] = []
                if flowShort == true, let flow { parts.append("水流量 \(show(flow)) L/min < \(show(flowMinimum)) L/min") }
                if levelShort == true, let level { parts.append("液位 \(show(level)) < \(show(levelMinimum))") }
                let short = flowShort == true
                return RuleOutput(ruleIndex: 0, transition: .raised, time: at, value: short ? flow : nil, limit: short ? flowMinimum : nil,
                                  message: "风机运行中\(parts.joined(separator: "，"))，湿式除尘器干式运行 (wet collector running dry: fan on without water)")
            case .cleared(let at, _):
                let message: String
                if !fanRunning {
                    message = "除尘风机停止，干式运行报警解除 (fan stopped)"
                } else {
                    var parts: [String] = []
                    if flowMinimum > 0, let flow { parts.append("水流量 \(show(flow)) L/min ≥ \(show(flowMinimum)) L/min") }
                    if levelMinimum > 0, let level { parts.append("液位 \(show(level)) ≥ \(show(levelMinimum))") }
                    message = "\(parts.joined(separator: "，"))，供水已恢复 (water back: flow and level at or above their minimums)"
                }
                let flowOn = flowMinimum > 0
                return RuleOutput(ruleIndex: 0, transition: .cleared, time: at, value: flowOn ? flow : nil, limit: flowOn ? flowMinimum : nil,
                                  message: message)
            }
        }
    }
}

extension WetCollector {
    /// The monitor of one equipment (``StateMonitor``: the state and its exclusivity, nothing else).
    final class Monitor: StateMonitor {
        #if DEBUG
        var state: State
        #else
        @exclusivity(unchecked) var state: State
        #endif

        init(params: [String: ParamValue]) { state = State(params: params) }
    }
}
