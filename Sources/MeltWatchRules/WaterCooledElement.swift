import MeltWatchCore

/// `steel.water-cooled-element`: one water-cooled element of a steelmaking furnace (令10 第四条(四)).
///
/// This build evaluates `flow-difference` (inlet − outlet above the limit for the on-delay: water may
/// be leaking into the furnace), `outlet-temp-high` / `outlet-temp-high-high`, `inlet-flow-low`
/// (while operating), `interlock-bypassed` (bypass while operating), and the interlock check: a trip
/// (`flow-difference` or `outlet-temp-high-high` raising) must be followed by every expected feedback
/// within `interlock_deadline_s` of the excursion's start (the first reading beyond the limit, not the
/// end of the on-delay) — later than `interlock_warn_s` is `interlock-late`, missing or unhealthy is
/// `interlock-failed` (latched). Every trip's outcome is recorded, good ones included, and so is an
/// excursion shorter than the on-delay that the interlock answered. A `furnace_operating` gate that
/// never reported, is bad or stale counts as operating (gates fail open).
enum WaterCooledElement {
    static let basis = "令10 第四条(四)"

    static let spec = TemplateSpec(
        id: .waterCooledElement,
        summary: "one water-cooled element (lance, hood, roof or wall panel) of a BOF/EAF/AOD/LF/RH/VOD furnace",
        roles: [
            RoleSpec(name: "inlet_flow", kind: .number(unit: "m3/h"), isOptional: false, summary: "inlet water flow"),
            RoleSpec(name: "outlet_flow", kind: .number(unit: "m3/h"), isOptional: false, summary: "outlet water flow"),
            RoleSpec(name: "outlet_temp", kind: .number(unit: "°C"), isOptional: false, summary: "outlet water temperature"),
            RoleSpec(name: "inlet_temp", kind: .number(unit: "°C"), isOptional: true, summary: "inlet water temperature"),
            RoleSpec(name: "furnace_operating", kind: .bool, isOptional: false, summary: "furnace in operation (gate)"),
            RoleSpec(name: "tilt_locked", kind: .bool, isOptional: true, summary: "interlock feedback: furnace tilting locked"),
            RoleSpec(name: "lance_raised", kind: .bool, isOptional: true, summary: "interlock feedback: oxygen lance / sub-lance raised"),
            RoleSpec(name: "power_off", kind: .bool, isOptional: true, summary: "interlock feedback: electrode power off"),
            RoleSpec(name: "electrodes_raised", kind: .bool, isOptional: true, summary: "interlock feedback: electrodes raised"),
            RoleSpec(name: "interlock_bypassed", kind: .bool, isOptional: true, summary: "interlock bypass flag"),
        ],
        params: [
            ParamSpec(name: "furnace_type", kind: .choice(["bof", "eaf", "aod", "lf", "rh", "vod"]), defaultValue: .choice("bof"),
                      isSitePlaceholder: true, summary: "furnace type; decides the expected interlock feedbacks"),
            ParamSpec(name: "expect", kind: .roles(allowed: ["tilt_locked", "lance_raised", "power_off", "electrodes_raised"]), defaultValue: nil, isSitePlaceholder: false,
                      summary: "expected interlock feedback roles; default from furnace_type"),
            ParamSpec(name: "flow_difference_max", kind: .number(unit: "m3/h", minimum: 0), defaultValue: .number(3.0),
                      isSitePlaceholder: true, summary: "inlet − outlet flow above this is a possible leak"),
            ParamSpec(name: "on_delay_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(2),
                      isSitePlaceholder: true, summary: "how long a condition must hold before it alarms"),
            ParamSpec(name: "outlet_temp_high", kind: .number(unit: "°C", minimum: -50), defaultValue: .number(45),
                      isSitePlaceholder: true, summary: "outlet water temperature warning level"),
            ParamSpec(name: "outlet_temp_high_high", kind: .number(unit: "°C", minimum: -50), defaultValue: .number(55),
                      isSitePlaceholder: true, summary: "outlet water temperature trip level"),
            ParamSpec(name: "inlet_flow_min", kind: .number(unit: "m3/h", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: true, summary: "minimum inlet flow while operating; 0 = off"),
            ParamSpec(name: "interlock_warn_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(2),
                      isSitePlaceholder: true, summary: "interlock slower than this, from the start of the excursion, is interlock-late"),
            ParamSpec(name: "interlock_deadline_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(5),
                      isSitePlaceholder: true, summary: "interlock not complete this long after the start of the excursion is interlock-failed"),
        ] + TemplateCatalog.healthParams,
        rules: [
            RuleSpec(id: "flow-difference", alarmClass: .process, priority: .emergency, basis: basis,
                     signals: ["inlet_flow", "outlet_flow"], unit: "m3/h",
                     summary: "inlet − outlet flow > `flow_difference_max` for `on_delay_s`: water may be leaking into the furnace. Trips the interlock check"),
            RuleSpec(id: "outlet-temp-high", alarmClass: .process, priority: .high, basis: basis,
                     signals: ["outlet_temp"], unit: "°C",
                     summary: "outlet water temperature > `outlet_temp_high` for `on_delay_s`"),
            RuleSpec(id: "outlet-temp-high-high", alarmClass: .process, priority: .emergency, basis: basis,
                     signals: ["outlet_temp"], unit: "°C",
                     summary: "outlet water temperature > `outlet_temp_high_high` for `on_delay_s`. Trips the interlock check"),
            RuleSpec(id: "inlet-flow-low", alarmClass: .process, priority: .high, basis: basis,
                     signals: ["inlet_flow", "furnace_operating"], unit: "m3/h",
                     summary: "inlet flow < `inlet_flow_min` (0 = off) for `on_delay_s` while operating; the gate closing clears it"),
            RuleSpec(id: "interlock-bypassed", alarmClass: .interlock, priority: .high, basis: "令10 第十四条",
                     signals: ["interlock_bypassed", "furnace_operating"], unit: nil,
                     summary: "`interlock_bypassed` true while operating"),
            RuleSpec(id: "interlock-late", alarmClass: .interlock, priority: .high, basis: basis,
                     signals: ["tilt_locked", "lance_raised", "power_off", "electrodes_raised"], unit: "s",
                     summary: "after a trip, the last expected feedback (`tilt_locked` + `lance_raised` for bof/aod, `power_off` + `electrodes_raised` for eaf/lf, `lance_raised` for rh/vod, or `expect`) turned true later than `interlock_warn_s` (`latency_ms`); raised and returned at once, for the duty room to acknowledge"),
            RuleSpec(id: "interlock-failed", alarmClass: .interlock, priority: .emergency, basis: basis,
                     signals: ["tilt_locked", "lance_raised", "power_off", "electrodes_raised"], unit: "s",
                     summary: "an expected feedback missing at `interlock_deadline_s` after a trip, or unhealthy during the check (`cause`); latched"),
        ],
        makeMonitor: { Monitor(params: $0) },
        gateRole: "furnace_operating"
    )

    private enum Rule: Int {
        case flowDifference, outletTempHigh, outletTempHighHigh, inletFlowLow, interlockBypassed
        case interlockLate, interlockFailed

        /// Rules whose raise trips the interlock check.
        var trips: Bool { self == .flowDifference || self == .outletTempHighHigh }
    }

    /// Expected feedbacks by furnace type (domain.md), unless `expect` overrides them.
    static let expectedByFurnace: [String: [String]] = [
        "bof": ["tilt_locked", "lance_raised"], "aod": ["tilt_locked", "lance_raised"],
        "eaf": ["power_off", "electrodes_raised"], "lf": ["power_off", "electrodes_raised"],
        "rh": ["lance_raised"], "vod": ["lance_raised"],
    ]

    private static let inlet = spec.roles.index("inlet_flow")
    private static let outlet = spec.roles.index("outlet_flow")
    private static let outletTemp = spec.roles.index("outlet_temp")
    private static let operatingRole = spec.roles.index("furnace_operating")
    private static let bypassRole = spec.roles.index("interlock_bypassed")

}

extension WaterCooledElement {
    /// The element's rules: limits, interlock check and the inputs they read.
    struct State: TemplateState {
        /// The template's role indices, copied once: a `static let` is a lazy-initialisation check per use.
        var inletRole = WaterCooledElement.inlet, outletRole = WaterCooledElement.outlet
        var outletTempRole = WaterCooledElement.outletTemp, operatingRole = WaterCooledElement.operatingRole
        var bypassRole = WaterCooledElement.bypassRole
        var inletFlow: Double?
        var outletFlow: Double?
        /// The gate's last good value; nil while unknown (never reported, bad or stale), and an unknown
        /// gate is open (domain.md): a low flow must still alarm when nobody can say the furnace stopped.
        var gate: Bool?
        var operating: Bool { gate ?? true }
        var bypassed = false
        /// One limit per rule, indexed by `Rule`; the bypass flag is watched as 1/0 against 0.5.
        var limits: [LimitMonitor]
        let inletFlowMinimum: Double
        var interlock: InterlockWatch

        init(params: [String: ParamValue]) {
            let delay = Int64(params.number("on_delay_s") * 1000)
            inletFlowMinimum = params.number("inlet_flow_min")
            limits = [
                LimitMonitor(direction: .high, limit: params.number("flow_difference_max"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: params.number("outlet_temp_high"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: params.number("outlet_temp_high_high"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .low, limit: inletFlowMinimum, onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: 0.5),
            ]
            let expected = params.roles("expect") ?? WaterCooledElement.expectedByFurnace[params.choice("furnace_type") ?? "bof"] ?? []
            interlock = InterlockWatch(
                expected: expected, roles: WaterCooledElement.spec.roles, warnSeconds: params.number("interlock_warn_s"),
                deadlineSeconds: params.number("interlock_deadline_s"),
                lateRule: Rule.interlockLate.rawValue, failedRule: Rule.interlockFailed.rawValue
            )
        }

        var nextDeadline: EventTime? { earliest(limits, interlock.deadline) }

        mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
            for i in limits.indices {
                if let t = limits[i].advance(to: time) { emit(Rule(rawValue: i)!, t, into: &out) }
            }
            interlock.advance(to: time, into: &out)
        }

        mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
            // A bad reading is no evidence either way: forget it (sensor-health alarms report it) and
            // do not let a pending on-delay complete on stale numbers.
            let usable: Double? = quality == .bad || !value.asDouble.isFinite ? nil : value.asDouble
            switch role {
            case inletRole, outletRole:
                if role == inletRole { inletFlow = usable } else { outletFlow = usable }
                if let i = inletFlow, let o = outletFlow {
                    update(.flowDifference, tidy(i - o), at: time, into: &out)
                } else {
                    limits[Rule.flowDifference.rawValue].cancelPending()
                }
                if role == inletRole { evaluateInletFlowLow(at: time, into: &out) }
            case outletTempRole:
                if let t = usable {
                    update(.outletTempHigh, t, at: time, into: &out)
                    update(.outletTempHighHigh, t, at: time, into: &out)
                } else {
                    limits[Rule.outletTempHigh.rawValue].cancelPending()
                    limits[Rule.outletTempHighHigh.rawValue].cancelPending()
                }
            case operatingRole:
                gate = usable.map { $0 != 0 }
                evaluateInletFlowLow(at: time, into: &out)
                evaluateBypass(at: time, into: &out)
            case bypassRole:
                guard quality != .bad else { return }
                bypassed = value.asBool
                evaluateBypass(at: time, into: &out)
            default:
                interlock.reading(role: role, value: value, quality: quality, at: time, into: &out)
            }
        }

        /// An expected feedback going unhealthy (stale, frozen, bad) during a check fails it with that
        /// cause; a gate going unhealthy is unknown, so open.
        mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
            if role == operatingRole, !healthy, gate != nil {
                gate = nil
                evaluateInletFlowLow(at: time, into: &out)
                evaluateBypass(at: time, into: &out)
            }
            interlock.health(role: role, healthy: healthy, fault: fault, at: time, into: &out)
        }

        /// Appends a rule's transition and, for a trip rule's raise, starts the interlock check from
        /// the start of the excursion.
        private mutating func emit(_ rule: Rule, _ t: LimitMonitor.Transition, into out: inout [RuleOutput]) {
            out.append(output(rule, t))
            if rule.trips, case .raised(let at, _) = t {
                interlock.trip(rule: rule.rawValue, at: at, excursionStart: limits[rule.rawValue].excursionStart, into: &out)
            }
        }

        /// `inlet-flow-low` applies only while the furnace operates and the limit is set (> 0).
        private mutating func evaluateInletFlowLow(at time: EventTime, into out: inout [RuleOutput]) {
            let rule = Rule.inletFlowLow.rawValue
            guard inletFlowMinimum > 0, let flow = inletFlow else {
                limits[rule].cancelPending()
                return
            }
            // Not operating: the gate is closed; feeding the limit itself (not a violation of `<`)
            // cancels a pending raise and clears an active alarm at this reading's time.
            update(.inletFlowLow, operating ? flow : inletFlowMinimum, at: time, into: &out)
        }

        private mutating func evaluateBypass(at time: EventTime, into out: inout [RuleOutput]) {
            update(.interlockBypassed, bypassed && operating ? 1 : 0, at: time, into: &out)
        }

        private mutating func update(_ rule: Rule, _ value: Double, at time: EventTime, into out: inout [RuleOutput]) {
            let wasPending = rule.trips && limits[rule.rawValue].isPending
            if let t = limits[rule.rawValue].update(value, at: time) {
                emit(rule, t, into: &out)
            } else if wasPending, !limits[rule.rawValue].isPending, let start = limits[rule.rawValue].excursionStart {
                // A trip excursion shorter than the on-delay: no alarm, but the interlock may have acted.
                interlock.excursionEnded(rule: rule.rawValue, from: start, at: time, into: &out)
            }
        }

        private func output(_ rule: Rule, _ t: LimitMonitor.Transition) -> RuleOutput {
            let limit = limits[rule.rawValue].limit
            let raised: Bool
            let at: EventTime
            let v: Double
            switch t {
            case .raised(let time, let value): (raised, at, v) = (true, time, value)
            case .cleared(let time, let value): (raised, at, v) = (false, time, value)
            }
            let message: String
            var reportedValue: Double? = v
            var reportedLimit: Double? = limit
            switch (rule, raised) {
            case (.flowDifference, true):
                message = "进出水流量差 \(show(v)) m3/h > \(show(limit)) m3/h，疑似漏水入炉 (water may be leaking into the furnace)"
            case (.flowDifference, false):
                message = "进出水流量差 \(show(v)) m3/h ≤ \(show(limit)) m3/h，已恢复 (flow difference back within limit)"
            case (.outletTempHigh, true):
                message = "出水温度 \(show(v)) °C > 报警值 \(show(limit)) °C (outlet water temperature high)"
            case (.outletTempHighHigh, true):
                message = "出水温度 \(show(v)) °C > 联锁值 \(show(limit)) °C (outlet water temperature high-high: trip level)"
            case (.outletTempHigh, false), (.outletTempHighHigh, false):
                message = "出水温度 \(show(v)) °C ≤ \(show(limit)) °C，已恢复 (outlet water temperature back within limit)"
            case (.inletFlowLow, true):
                message = "炉体运行中进水流量 \(show(v)) m3/h < 最小值 \(show(limit)) m3/h (inlet flow low while operating)"
            case (.inletFlowLow, false):
                message = operating
                    ? "进水流量 \(show(v)) m3/h ≥ \(show(limit)) m3/h，已恢复 (inlet flow back within limit)"
                    : "炉体停止运行，进水流量低报警解除 (furnace no longer operating)"
                if !operating { reportedValue = inletFlow }
            case (.interlockBypassed, true):
                message = "炉体运行中联锁被旁路 (interlock bypassed while the furnace is operating)"
                (reportedValue, reportedLimit) = (nil, nil)
            case (.interlockBypassed, false):
                message = operating ? "联锁旁路已解除 (interlock bypass removed)" : "炉体停止运行，联锁旁路报警解除 (furnace no longer operating)"
                (reportedValue, reportedLimit) = (nil, nil)
            case (.interlockLate, _), (.interlockFailed, _):
                preconditionFailure("interlock outcomes are reported by InterlockWatch")
            }
            return RuleOutput(ruleIndex: rule.rawValue, transition: raised ? .raised : .cleared, time: at,
                              value: reportedValue, limit: reportedLimit, message: message)
        }
    }
}

extension WaterCooledElement {
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
