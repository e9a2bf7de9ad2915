import MeltWatchCore

/// `aluminium.dc-casting`: one deep-well (vertical direct-chill) casting station — furnace, launder,
/// mould table and pit (令10 第五条(六)–(九), local notices).
///
/// Rules, all on event time:
/// - `cooling-pressure-low`, `cooling-flow-low`: mould cooling water below its minimum for
///   `on_delay_s`, or falling faster than `cooling_pressure_drop_max` / `cooling_flow_drop_max` per
///   second over the last second (0 = off), while casting. Trip.
/// - `level-high`, `level-low`, `level-jump`: the outlet-launder or junction level out of
///   [`level_low`, `level_high`] for `on_delay_s`, or changing faster than `level_rate_max` mm/s
///   (``RateMonitor``), while casting; `level-low` and `level-jump` also wait for `cast_length >=
///   level_gate_mm` (the start of a cast is unsteady by nature), `level-high` does not (an overflow is
///   dangerous from the first millimetre). One alarm per rule for both levels: raised by the first,
///   cleared with the last. Only a junction deviation trips (第五条(八)/(九) interlock the junction level).
/// - Interlock: a trip — counted from the start of the excursion, not the end of the on-delay — must
///   be followed within `interlock_deadline_s` by every expected action —
///   fixed furnace: `shutoff_closed`, `drain_open`; tilting: `furnace_tilted_back`, `shutoff_closed`
///   (`expect` overrides) — and always `platform_stopped` (Nantong 2024: the platform kept
///   descending). `interlock-late` and `interlock-failed` as in ``InterlockWatch``. A late action cites
///   the Xinzhou notice's question on delay; a failure cites the trip's clause (cooling 第五条(六);
///   junction level: fixed 第五条(八), tilting 第五条(九)) when an action it interlocks failed, and the
///   notice on the platform stop when the platform kept descending, both joined by "；".
/// - `interlock-bypassed`: the bypass flag while casting (令10 第十四条).
/// - `casting-permissive`: casting starts while a sensor of this station is stale, frozen or bad, an
///   interlock is bypassed, or the emergency water reports not ready ("casting is not allowed with a
///   faulty safety device"). Cleared when every cause is gone or casting stops.
/// - `mode-not-auto`: casting and not in automatic mode for `on_delay_s`.
/// - `mechanical-lock-open`: fixed furnace, casting, lock not engaged for `on_delay_s`.
///
/// Gates fail open: `casting_active` that never reported, is bad or stale counts as casting (a missed
/// cooling loss is worse than a spurious one), and such a `cast_length` leaves the level gate open;
/// the last good value is not kept. A bad or non-finite measurement is no evidence: it cancels
/// pending on-delays (sensor health reports the fault).
enum DCCasting {
    static let coolingBasis = "令10 第五条(六)"
    static let levelBasis = "令10 第五条(七)"
    /// The Xinzhou notice (seed 001), by the question it asks: never a bare "地方通知".
    static let platformBasis = "忻应急发〔2024〕216号: 各联锁动作是否与铸造平台停止下降联锁"
    static let lateBasis = "忻应急发〔2024〕216号: 联锁动作是否长时间延迟"
    static let faultBasis = "令10 第十四条"

    static let spec = TemplateSpec(
        id: .dcCasting,
        summary: "one deep-well casting station: furnace, launder, mould cooling water, casting platform",
        roles: [
            RoleSpec(name: "cooling_pressure", kind: .number(unit: "kPa"), isOptional: false, summary: "mould cooling water inlet pressure"),
            RoleSpec(name: "cooling_flow", kind: .number(unit: "m3/h"), isOptional: false, summary: "mould cooling water inlet flow"),
            RoleSpec(name: "level_outlet", kind: .number(unit: "mm"), isOptional: false, summary: "molten aluminium level, furnace outlet launder"),
            RoleSpec(name: "level_junction", kind: .number(unit: "mm"), isOptional: false, summary: "molten aluminium level, launder–distributor junction"),
            RoleSpec(name: "casting_active", kind: .bool, isOptional: false, summary: "casting in progress (gate)"),
            RoleSpec(name: "cast_length", kind: .number(unit: "mm"), isOptional: false, summary: "cast length so far"),
            RoleSpec(name: "mode_auto", kind: .bool, isOptional: false, summary: "casting control in automatic mode"),
            RoleSpec(name: "shutoff_closed", kind: .bool, isOptional: false, summary: "interlock feedback: quick shut-off valve closed"),
            RoleSpec(name: "drain_open", kind: .bool, isOptional: true, summary: "interlock feedback: emergency drain valve open (fixed furnace)"),
            RoleSpec(name: "launder_disconnected", kind: .bool, isOptional: true, summary: "interlock feedback: launder disconnected"),
            RoleSpec(name: "furnace_tilted_back", kind: .bool, isOptional: true, summary: "interlock feedback: tilting furnace tilted back"),
            RoleSpec(name: "platform_stopped", kind: .bool, isOptional: false, summary: "interlock feedback: casting platform stopped descending"),
            RoleSpec(name: "mechanical_lock", kind: .bool, isOptional: true, summary: "fixed furnace outlet mechanical lock engaged"),
            RoleSpec(name: "interlock_bypassed", kind: .bool, isOptional: true, summary: "interlock bypass flag"),
            RoleSpec(name: "emergency_water_ok", kind: .bool, isOptional: true, summary: "emergency cooling water ready"),
        ],
        params: [
            ParamSpec(name: "furnace", kind: .choice(["fixed", "tilting"]), defaultValue: .choice("fixed"),
                      isSitePlaceholder: true, summary: "casting furnace kind; decides the expected interlock actions"),
            ParamSpec(name: "expect", kind: .roles(allowed: ["shutoff_closed", "drain_open", "launder_disconnected", "furnace_tilted_back"]),
                      defaultValue: nil, isSitePlaceholder: false,
                      summary: "expected interlock actions besides platform_stopped; default from furnace"),
            ParamSpec(name: "cooling_pressure_min", kind: .number(unit: "kPa", minimum: 0), defaultValue: .number(150),
                      isSitePlaceholder: true, summary: "minimum mould cooling water pressure while casting"),
            ParamSpec(name: "cooling_flow_min", kind: .number(unit: "m3/h", minimum: 0), defaultValue: .number(100),
                      isSitePlaceholder: true, summary: "minimum mould cooling water flow while casting"),
            ParamSpec(name: "cooling_pressure_drop_max", kind: .number(unit: "kPa/s", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: true, summary: "pressure falling faster than this is a sudden drop; 0 = off"),
            ParamSpec(name: "cooling_flow_drop_max", kind: .number(unit: "m3/h/s", minimum: 0), defaultValue: .number(0),
                      isSitePlaceholder: true, summary: "flow falling faster than this is a sudden drop; 0 = off"),
            ParamSpec(name: "level_low", kind: .number(unit: "mm", minimum: 0), defaultValue: .number(40),
                      isSitePlaceholder: true, summary: "launder level below this is level-low"),
            ParamSpec(name: "level_high", kind: .number(unit: "mm", minimum: 0), defaultValue: .number(160),
                      isSitePlaceholder: true, summary: "launder level above this is level-high (overflow)"),
            ParamSpec(name: "level_rate_max", kind: .number(unit: "mm/s", minimum: 0), defaultValue: .number(20),
                      isSitePlaceholder: true, summary: "level changing faster than this is level-jump; 0 = off"),
            ParamSpec(name: "level_gate_mm", kind: .number(unit: "mm", minimum: 0), defaultValue: .number(300),
                      isSitePlaceholder: false, summary: "level rules apply from this cast length (industry 300–500 mm)"),
            ParamSpec(name: "on_delay_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(1),
                      isSitePlaceholder: true, summary: "how long a condition must hold before it alarms"),
            ParamSpec(name: "interlock_warn_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(2),
                      isSitePlaceholder: true, summary: "interlock slower than this, from the start of the excursion, is interlock-late"),
            ParamSpec(name: "interlock_deadline_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(5),
                      isSitePlaceholder: true, summary: "interlock not complete this long after the start of the excursion is interlock-failed"),
        ] + TemplateCatalog.healthParams,
        rules: [
            RuleSpec(id: "cooling-pressure-low", alarmClass: .process, priority: .emergency, basis: coolingBasis,
                     signals: ["cooling_pressure", "casting_active"], unit: "kPa",
                     summary: "while casting: pressure < `cooling_pressure_min` for `on_delay_s`, or falling faster than `cooling_pressure_drop_max` kPa/s over the last second. Trips the interlock check"),
            RuleSpec(id: "cooling-flow-low", alarmClass: .process, priority: .emergency, basis: coolingBasis,
                     signals: ["cooling_flow", "casting_active"], unit: "m3/h",
                     summary: "while casting: flow < `cooling_flow_min` for `on_delay_s`, or falling faster than `cooling_flow_drop_max` per second over the last second. Trips the interlock check"),
            RuleSpec(id: "level-high", alarmClass: .process, priority: .emergency, basis: levelBasis,
                     signals: ["level_outlet", "level_junction", "cast_length"], unit: "mm",
                     summary: "outlet or junction level > `level_high` for `on_delay_s`, while casting (not gated by cast length: an overflow is dangerous from the first millimetre); one alarm for both levels. A junction deviation trips the interlock check"),
            RuleSpec(id: "level-low", alarmClass: .process, priority: .high, basis: levelBasis,
                     signals: ["level_outlet", "level_junction", "cast_length"], unit: "mm",
                     summary: "outlet or junction level < `level_low` for `on_delay_s`, while casting and `cast_length` ≥ `level_gate_mm`. A junction deviation trips the interlock check"),
            RuleSpec(id: "level-jump", alarmClass: .process, priority: .high, basis: levelBasis,
                     signals: ["level_outlet", "level_junction", "cast_length"], unit: "mm/s",
                     summary: "outlet or junction level changed faster than `level_rate_max` mm/s (against the last reading at or before a 1 s window), gated as `level-low`. A junction jump trips the interlock check"),
            RuleSpec(id: "interlock-late", alarmClass: .interlock, priority: .high, basis: lateBasis,
                     signals: feedbackRoles, unit: "s",
                     summary: "after a trip, the last expected action (fixed: `shutoff_closed` + `drain_open`; tilting: `furnace_tilted_back` + `shutoff_closed`; or `expect`; always `platform_stopped`; on a cooling trip also `launder_disconnected` where the station reports it) came later than `interlock_warn_s` (`latency_ms`); raised and returned at once"),
            RuleSpec(id: "interlock-failed", alarmClass: .interlock, priority: .emergency, basis: coolingBasis,
                     signals: feedbackRoles, unit: "s",
                     summary: "an expected action missing at `interlock_deadline_s` after a trip, or its feedback unhealthy (`cause`); latched. Basis: the local notice when the platform did not stop, else 第五条(六) for a cooling trip, 第五条(八) (fixed) or 第五条(九) (tilting) for a level trip"),
            RuleSpec(id: "interlock-bypassed", alarmClass: .interlock, priority: .high, basis: faultBasis,
                     signals: ["interlock_bypassed", "casting_active"], unit: nil,
                     summary: "`interlock_bypassed` true while casting"),
            RuleSpec(id: "casting-permissive", alarmClass: .interlock, priority: .emergency, basis: faultBasis,
                     signals: ["casting_active"], unit: nil,
                     summary: "casting starts while a sensor of the station is stale, frozen or bad, the interlock is bypassed or `emergency_water_ok` is false (`cause` lists them); clears when they are gone or casting stops"),
            RuleSpec(id: "mode-not-auto", alarmClass: .process, priority: .medium, basis: faultBasis,
                     signals: ["mode_auto", "casting_active"], unit: nil,
                     summary: "casting and `mode_auto` false for `on_delay_s`"),
            RuleSpec(id: "mechanical-lock-open", alarmClass: .process, priority: .high, basis: levelBasis,
                     signals: ["mechanical_lock", "casting_active"], unit: nil,
                     summary: "fixed furnace, casting and `mechanical_lock` false for `on_delay_s`"),
        ],
        makeMonitor: { Monitor(params: $0) },
        gateRole: "casting_active"
    )

    static let feedbackRoles = ["shutoff_closed", "drain_open", "launder_disconnected", "furnace_tilted_back", "platform_stopped"]

    /// Expected actions by furnace kind (domain.md); `platform_stopped` is always added.
    static let expectedByFurnace: [String: [String]] = [
        "fixed": ["shutoff_closed", "drain_open"], "tilting": ["furnace_tilted_back", "shutoff_closed"],
    ]

    enum Rule: Int {
        case coolingPressureLow, coolingFlowLow, levelHigh, levelLow, levelJump
        case interlockLate, interlockFailed, interlockBypassed, castingPermissive, modeNotAuto, mechanicalLockOpen

        var trips: Bool { rawValue <= Rule.levelJump.rawValue }
        var isLevel: Bool { self == .levelHigh || self == .levelLow || self == .levelJump }
    }

    /// A limit feeding one part of a rule: rules over two levels (or a limit and a drop) have two parts.
    private struct Part {
        var rule: Rule
        var part: Int

        /// Whether this part's raise trips the interlock check: cooling (limit and drop) always, a level
        /// rule only for the junction (part 1): 第五条(八)/(九) interlock the junction level, and an
        /// outlet-launder deviation alarms (第五条(七)) without a trip.
        var trips: Bool { rule.trips && (!rule.isLevel || part == 1) }
    }

    private static let limitParts: [Part] = [
        Part(rule: .coolingPressureLow, part: 0), Part(rule: .coolingFlowLow, part: 0),
        Part(rule: .levelHigh, part: 0), Part(rule: .levelHigh, part: 1),
        Part(rule: .levelLow, part: 0), Part(rule: .levelLow, part: 1),
        Part(rule: .interlockBypassed, part: 0), Part(rule: .modeNotAuto, part: 0), Part(rule: .mechanicalLockOpen, part: 0),
    ]
    private static let rateParts: [Part] = [
        Part(rule: .coolingPressureLow, part: 1), Part(rule: .coolingFlowLow, part: 1),
        Part(rule: .levelJump, part: 0), Part(rule: .levelJump, part: 1),
    ]

}

extension DCCasting {
    /// The station's rules and the inputs they read.
    struct State: TemplateState {
        /// The template's role indices, copied once: a `static let` is a lazy-initialisation check per use.
        var pressureRole = DCCasting.spec.roles.index("cooling_pressure"), flowRole = DCCasting.spec.roles.index("cooling_flow")
        var outletRole = DCCasting.spec.roles.index("level_outlet"), junctionRole = DCCasting.spec.roles.index("level_junction")
        var castingRole = DCCasting.spec.roles.index("casting_active"), lengthRole = DCCasting.spec.roles.index("cast_length")
        var modeRole = DCCasting.spec.roles.index("mode_auto"), lockRole = DCCasting.spec.roles.index("mechanical_lock")
        var bypassRole = DCCasting.spec.roles.index("interlock_bypassed")
        var emergencyWaterRole = DCCasting.spec.roles.index("emergency_water_ok")

        /// The limit checks, in this order: pressure, flow, outlet high, junction high, outlet low,
        /// junction low, bypass, mode, lock (flags watched as 1/0 against 0.5).
        var limits: [LimitMonitor]
        /// Rate checks (nil when their limit is 0): pressure drop, flow drop, outlet jump, junction jump.
        var rates: [RateMonitor?]
        /// Per rule: which parts are active (bit per part); the rule is raised while any is.
        var activeParts = [UInt8](repeating: 0, count: 11)

        var interlock: InterlockWatch
        let fixedFurnace: Bool
        let levelGate: Double

        var casting: Bool?
        var castLength: Double?
        var values = [Double?](repeating: nil, count: 4)  // pressure, flow, outlet, junction
        var modeAuto: Bool?
        var lockEngaged: Bool?
        var bypassed = false
        var emergencyWaterOK: Bool?
        /// Per role: the health fault reported by the engine, nil while healthy.
        var faults = [String?](repeating: nil, count: DCCasting.spec.roles.count)
        var permissiveActive = false

        init(params: [String: ParamValue]) {
            let delay = Int64(params.number("on_delay_s") * 1000)
            let levelLow = params.number("level_low"), levelHigh = params.number("level_high")
            limits = [
                LimitMonitor(direction: .low, limit: params.number("cooling_pressure_min"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .low, limit: params.number("cooling_flow_min"), onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: levelHigh, onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: levelHigh, onDelayMilliseconds: delay),
                LimitMonitor(direction: .low, limit: levelLow, onDelayMilliseconds: delay),
                LimitMonitor(direction: .low, limit: levelLow, onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: 0.5),
                LimitMonitor(direction: .high, limit: 0.5, onDelayMilliseconds: delay),
                LimitMonitor(direction: .high, limit: 0.5, onDelayMilliseconds: delay),
            ]
            func rate(_ name: String, _ direction: RateMonitor.Direction) -> RateMonitor? {
                let max = params.number(name)
                return max > 0 ? RateMonitor(maxPerSecond: max, windowMilliseconds: 1000, direction: direction) : nil
            }
            let jump = rate("level_rate_max", .either)
            rates = [rate("cooling_pressure_drop_max", .fall), rate("cooling_flow_drop_max", .fall), jump, jump]
            levelGate = params.number("level_gate_mm")
            let furnace = params.choice("furnace") ?? "fixed"
            fixedFurnace = furnace == "fixed"
            let configured = params.roles("expect")
            var expected = configured ?? DCCasting.expectedByFurnace[furnace] ?? []
            if !expected.contains("platform_stopped") { expected.append("platform_stopped") }
            // 第五条(六): a cooling trip also disconnects the launder, where the station reports it;
            // the junction-level interlocks (八)/(九) do not include it. Named in `expect`, it is
            // expected on every trip.
            let conditionalLaunder = !expected.contains("launder_disconnected")
            if conditionalLaunder { expected.append("launder_disconnected") }
            interlock = InterlockWatch(
                expected: expected, roles: DCCasting.spec.roles, warnSeconds: params.number("interlock_warn_s"),
                deadlineSeconds: params.number("interlock_deadline_s"),
                lateRule: Rule.interlockLate.rawValue, failedRule: Rule.interlockFailed.rawValue
            )
            if conditionalLaunder, let launder = interlock.check.expected.firstIndex(of: "launder_disconnected") {
                interlock.exempt = { k, trigger, seen in
                    k == launder && (!seen || Rule(rawValue: trigger)?.isLevel == true)
                }
            }
            let levelInterlockBasis = fixedFurnace ? "令10 第五条(八)" : "令10 第五条(九)"
            let clauseActions = expected.filter { $0 != "platform_stopped" }
            interlock.basis = { outcome, trigger in
                guard case .failed(let cause, _) = outcome else { return DCCasting.lateBasis }
                // The trip's clause when an action it interlocks failed, the notice when the platform
                // kept descending; both, joined by "；", when both did.
                var bases: [String] = []
                if clauseActions.contains(where: { cause.contains($0) }) {
                    bases.append(Rule(rawValue: trigger)?.isLevel == true ? levelInterlockBasis : DCCasting.coolingBasis)
                }
                if cause.contains("platform_stopped") { bases.append(DCCasting.platformBasis) }
                return bases.isEmpty ? nil : bases.joined(separator: "；")
            }
        }

        /// Unknown (never reported, bad, stale) counts as casting, and an unknown cast length as past
        /// the level gate: a gate whose state is unknown is open (domain.md), never its last good value.
        var castingGate: Bool { casting ?? true }
        var levelGateOpen: Bool { castingGate && (castLength ?? .infinity) >= levelGate }

        var nextDeadline: EventTime? { earliest(limits, interlock.deadline) }

        /// The interlock's policies (launder exemption, bases) are closures over the parameters.
        mutating func keepConfiguration(of fresh: State) { interlock.keepPolicies(of: fresh.interlock) }

        mutating func advance(to time: EventTime, into out: inout [RuleOutput]) {
            for i in limits.indices {
                if let t = limits[i].advance(to: time) {
                    part(DCCasting.limitParts[i], t, excursionStart: limits[i].excursionStart, into: &out)
                }
            }
            interlock.advance(to: time, into: &out)
        }

        mutating func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
            let usable: Double? = quality == .bad || !value.asDouble.isFinite ? nil : value.asDouble
            switch role {
            case pressureRole, flowRole, outletRole, junctionRole:
                let slot = role == pressureRole ? 0 : role == flowRole ? 1 : role == outletRole ? 2 : 3
                values[slot] = usable
                evaluateMeasurement(slot, at: time, reading: true, into: &out)
            case castingRole:
                let starting = usable.map { $0 != 0 } == true && casting != true
                setCasting(usable.map { $0 != 0 }, at: time, into: &out)
                if starting { checkPermissive(start: true, at: time, into: &out) }
            case lengthRole:
                setCastLength(usable, at: time, into: &out)
            case modeRole, lockRole, bypassRole, emergencyWaterRole:
                guard let v = usable else { return }
                switch role {
                case modeRole: modeAuto = v != 0
                case lockRole: lockEngaged = v != 0
                case bypassRole: bypassed = v != 0
                default: emergencyWaterOK = v != 0
                }
                evaluateFlags(at: time, into: &out)
                checkPermissive(start: false, at: time, into: &out)
            default:
                interlock.reading(role: role, value: value, quality: quality, at: time, into: &out)
            }
        }

        mutating func health(role: Int, healthy: Bool, fault: String?, at time: EventTime, into out: inout [RuleOutput]) {
            faults[role] = healthy ? nil : (fault ?? "unhealthy")
            if !healthy, role == castingRole, casting != nil { setCasting(nil, at: time, into: &out) }
            if !healthy, role == lengthRole, castLength != nil { setCastLength(nil, at: time, into: &out) }
            interlock.health(role: role, healthy: healthy, fault: fault, at: time, into: &out)
            checkPermissive(start: false, at: time, into: &out)
        }

        /// The casting gate's new state (nil: unknown, so open); every rule behind it is re-evaluated.
        private mutating func setCasting(_ value: Bool?, at time: EventTime, into out: inout [RuleOutput]) {
            casting = value
            for slot in 0..<4 { evaluateMeasurement(slot, at: time, into: &out) }
            evaluateFlags(at: time, into: &out)
            if !castingGate { checkPermissive(start: false, at: time, into: &out) }
        }

        /// The level gate's cast length (nil: unknown, so past the gate).
        private mutating func setCastLength(_ value: Double?, at time: EventTime, into out: inout [RuleOutput]) {
            castLength = value
            for slot in 2..<4 { evaluateMeasurement(slot, at: time, into: &out) }
        }

        /// Re-evaluates one measurement (pressure, flow, outlet or junction level) against its gates.
        /// Pressure and flow apply while casting, and so does `level-high` (an overflow is dangerous from
        /// the first millimetre); `level-low` and `level-jump` wait for the cast length gate as well.
        /// Only a `reading` of the measurement itself feeds its rate check: a gate's reading re-checks
        /// the limits with the last value, but the last value again at a later time is no evidence of
        /// a steady level (a sparse gateway would have its jumps cleared by every cast-length report).
        private mutating func evaluateMeasurement(_ slot: Int, at time: EventTime, reading: Bool = false, into out: inout [RuleOutput]) {
            // Limits of the slot: pressure 0, flow 1; a level has its high (2, 3) and low (4, 5) check.
            let first = slot, second = slot >= 2 ? slot + 2 : slot
            let firstOpen = castingGate
            let secondOpen = slot < 2 ? castingGate : levelGateOpen
            if !firstOpen { closeGate(limit: first, at: time, into: &out) }
            if second != first, !secondOpen { closeGate(limit: second, at: time, into: &out) }
            if !secondOpen {
                if let r = rates[slot], r.isActive { part(DCCasting.rateParts[slot], .cleared(at: time, value: 0), into: &out) }
                rates[slot]?.reset()
            }
            guard let v = values[slot] else {
                limits[first].cancelPending()
                limits[second].cancelPending()
                return
            }
            if firstOpen { update(limit: first, v, at: time, into: &out) }
            if second != first, secondOpen { update(limit: second, v, at: time, into: &out) }
            if reading, secondOpen, let t = rates[slot]?.update(v, at: time) { part(DCCasting.rateParts[slot], t, into: &out) }
        }

        /// Feeds limit `i`; a trip excursion that ends within its on-delay may still be an interlock trip.
        private mutating func update(limit i: Int, _ v: Double, at time: EventTime, into out: inout [RuleOutput]) {
            let p = DCCasting.limitParts[i]
            let wasPending = p.trips && limits[i].isPending
            if let t = limits[i].update(v, at: time) {
                part(p, t, excursionStart: limits[i].excursionStart, into: &out)
            } else if wasPending, !limits[i].isPending, let start = limits[i].excursionStart {
                interlock.excursionEnded(rule: p.rule.rawValue, from: start, at: time, into: &out)
            }
        }

        private mutating func closeGate(limit i: Int, at time: EventTime, into out: inout [RuleOutput]) {
            if let t = limits[i].gateClosed(at: time) { part(DCCasting.limitParts[i], t, into: &out) }
        }

        /// Bypass, mode and mechanical lock, each as a 1/0 flag while casting.
        private mutating func evaluateFlags(at time: EventTime, into out: inout [RuleOutput]) {
            let casting = castingGate
            flag(6, casting && bypassed, at: time, into: &out)
            flag(7, casting && modeAuto == false, at: time, into: &out)
            flag(8, casting && fixedFurnace && lockEngaged == false, at: time, into: &out)
        }

        private mutating func flag(_ i: Int, _ on: Bool, at time: EventTime, into out: inout [RuleOutput]) {
            if let t = limits[i].update(on ? 1 : 0, at: time) { part(DCCasting.limitParts[i], t, into: &out) }
        }

        /// What makes starting a cast unsafe right now.
        private func permissiveCauses() -> [String] {
            var causes: [String] = []
            for (i, f) in faults.enumerated() where i != castingRole {
                if let f { causes.append("\(DCCasting.spec.roles[i].name) \(f)") }
            }
            if bypassed { causes.append("interlock_bypassed") }
            if emergencyWaterOK == false { causes.append("emergency_water_ok false") }
            return causes
        }

        /// Raises `casting-permissive` when a cast starts with causes; clears it when they are gone.
        private mutating func checkPermissive(start: Bool, at time: EventTime, into out: inout [RuleOutput]) {
            let rule = Rule.castingPermissive.rawValue
            if start {
                let causes = permissiveCauses()
                guard !causes.isEmpty, !permissiveActive else { return }
                permissiveActive = true
                let list = causes.joined(separator: "; ")
                out.append(RuleOutput(ruleIndex: rule, transition: .raised, time: time, value: nil, limit: nil,
                                      message: "安全装置故障或联锁旁路时开始铸造：\(list) (casting started with a faulty safety device)",
                                      cause: list))
                return
            }
            guard permissiveActive else { return }
            let stopped = !castingGate
            guard stopped || permissiveCauses().isEmpty else { return }
            permissiveActive = false
            out.append(RuleOutput(ruleIndex: rule, transition: .cleared, time: time, value: nil, limit: nil,
                                  message: stopped ? "铸造已停止，许可报警解除 (casting stopped)" : "安全装置已恢复正常 (safety devices healthy again)"))
        }

        /// Folds one part's transition into its rule: raised with the first active part, cleared with
        /// the last. A tripping part's raise starts the interlock check from `excursionStart` even when
        /// its rule is already active (the outlet level alarmed first; the junction then tripped).
        private mutating func part(_ p: Part, _ t: LimitMonitor.Transition, excursionStart: EventTime? = nil,
                                   into out: inout [RuleOutput]) {
            let r = p.rule.rawValue
            let wasActive = activeParts[r] != 0
            let bit = UInt8(1) << UInt8(p.part)
            switch t {
            case .raised: activeParts[r] |= bit
            case .cleared: activeParts[r] &= ~bit
            }
            let isActive = activeParts[r] != 0
            if wasActive != isActive { out.append(output(p, t)) }
            if p.trips, case .raised(let at, _) = t {
                interlock.trip(rule: r, at: at, excursionStart: excursionStart, into: &out)
            }
        }

        private func output(_ p: Part, _ t: LimitMonitor.Transition) -> RuleOutput {
            let raised: Bool, at: EventTime, v: Double
            switch t {
            case .raised(let time, let value): (raised, at, v) = (true, time, value)
            case .cleared(let time, let value): (raised, at, v) = (false, time, value)
            }
            let level = p.part == 0 ? "出口流槽液位" : "分配流槽连接处液位"
            let levelEN = p.part == 0 ? "outlet launder" : "junction"
            let back = "已恢复 (back to normal)"
            var value: Double? = v
            var limit: Double?
            let message: String
            switch p.rule {
            case .coolingPressureLow, .coolingFlowLow:
                let pressure = p.rule == .coolingPressureLow
                let (name, unit, slot) = pressure ? ("结晶器冷却水压力", "kPa", 0) : ("结晶器冷却水流量", "m3/h", 1)
                if p.part == 0 {
                    limit = limits[slot].limit
                    message = raised
                        ? "铸造中\(name) \(show(v)) \(unit) < 最小值 \(show(limit!)) \(unit) (mould cooling water \(pressure ? "pressure" : "flow") low while casting)"
                        : castingGate ? "\(name) \(show(v)) \(unit)，\(back)" : "铸造已停止，\(name)低报警解除 (casting stopped)"
                } else {
                    let maxDrop = rates[slot]?.maxPerSecond ?? 0
                    value = values[slot]
                    message = raised
                        ? "\(name)骤降 \(show(-v)) \(unit)/s > \(show(maxDrop)) \(unit)/s，当前 \(show(value ?? .nan)) \(unit) (sudden drop while casting)"
                        : "\(name)骤降已停止，\(back)"
                }
            case .levelHigh, .levelLow:
                limit = limits[p.rule == .levelHigh ? 2 : 4].limit
                let sign = p.rule == .levelHigh ? ">" : "<"
                let what = p.rule == .levelHigh ? "高 (level high: overflow risk" : "低 (level low"
                message = raised
                    ? "\(level) \(show(v)) mm \(sign) \(show(limit!)) mm，液位过\(what), \(levelEN))"
                    : levelGateOpen ? "\(level) \(show(v)) mm，\(back)" : "铸造停止或未达门控长度，液位报警解除 (level gate closed)"
            case .levelJump:
                limit = rates[2 + p.part]?.maxPerSecond
                message = raised
                    ? "\(level)突变 \(show(abs(v))) mm/s > \(show(limit ?? 0)) mm/s (level jump, \(levelEN))"
                    : levelGateOpen ? "\(level)变化率恢复正常 (level steady again)" : "铸造停止或未达门控长度，液位突变报警解除 (level gate closed)"
            case .interlockBypassed:
                (value, limit) = (nil, nil)
                message = raised ? "铸造中联锁被旁路 (interlock bypassed while casting)" : "联锁旁路报警解除 (bypass removed or casting stopped)"
            case .modeNotAuto:
                (value, limit) = (nil, nil)
                message = raised ? "铸造中未处于自动模式 (casting not in automatic mode)" : "自动模式报警解除 (automatic mode or casting stopped)"
            case .mechanicalLockOpen:
                (value, limit) = (nil, nil)
                message = raised ? "固定式熔炉铸造中出口机械锁紧装置未锁紧 (mechanical lock not engaged while casting)"
                    : "机械锁紧报警解除 (lock engaged or casting stopped)"
            case .interlockLate, .interlockFailed, .castingPermissive:
                preconditionFailure("reported by InterlockWatch and checkPermissive")
            }
            return RuleOutput(ruleIndex: p.rule.rawValue, transition: raised ? .raised : .cleared, time: at,
                              value: value, limit: limit, message: message)
        }
    }
}

extension DCCasting {
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
