import MeltWatchCore

/// `steel.water-cooled-element`: one water-cooled element of a steelmaking furnace (令10 第四条(四)).
///
/// This build evaluates `flow-difference` (inlet − outlet above the limit for the on-delay: water may
/// be leaking into the furnace). The other rules of the template are in the catalog so configs
/// validate, and are evaluated by the full rule library.
final class WaterCooledElement: EquipmentMonitor {
    static let basis = "令10 第四条(四)"

    static let spec = TemplateSpec(
        name: "steel.water-cooled-element",
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
                      isSitePlaceholder: true, summary: "interlock slower than this is interlock-late"),
            ParamSpec(name: "interlock_deadline_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(5),
                      isSitePlaceholder: true, summary: "interlock not complete by this is interlock-failed"),
        ] + TemplateCatalog.healthParams,
        rules: [
            RuleSpec(id: "flow-difference", alarmClass: .process, priority: .emergency, basis: basis,
                     signals: ["inlet_flow", "outlet_flow"], unit: "m3/h"),
        ],
        makeMonitor: { WaterCooledElement(params: $0) }
    )

    private static let inlet = spec.roles.index("inlet_flow")
    private static let outlet = spec.roles.index("outlet_flow")

    private var inletFlow: Double?
    private var outletFlow: Double?
    private var flowDifference: LimitMonitor

    init(params: [String: ParamValue]) {
        flowDifference = LimitMonitor(
            direction: .high, limit: params.number("flow_difference_max"),
            onDelayMilliseconds: Int64(params.number("on_delay_s") * 1000)
        )
    }

    var nextDeadline: EventTime? { flowDifference.deadline }

    func advance(to time: EventTime, into out: inout [RuleOutput]) {
        if let t = flowDifference.advance(to: time) { out.append(flowOutput(t)) }
    }

    func reading(role: Int, value: Value, quality: Quality, at time: EventTime, into out: inout [RuleOutput]) {
        guard role == Self.inlet || role == Self.outlet else { return }
        // A bad reading is no evidence either way: forget it (sensor-health alarms report it) and
        // do not let a pending on-delay complete on stale numbers.
        let usable: Double? = quality == .bad || !value.asDouble.isFinite ? nil : value.asDouble
        if role == Self.inlet { inletFlow = usable } else { outletFlow = usable }
        guard let i = inletFlow, let o = outletFlow else {
            flowDifference.cancelPending()
            return
        }
        if let t = flowDifference.update(tidy(i - o), at: time) { out.append(flowOutput(t)) }
    }

    private func flowOutput(_ t: LimitMonitor.Transition) -> RuleOutput {
        let limit = flowDifference.limit
        switch t {
        case .raised(let at, let v):
            return RuleOutput(ruleIndex: 0, transition: .raised, time: at, value: v, limit: limit,
                              message: "进出水流量差 \(show(v)) m3/h > \(show(limit)) m3/h，疑似漏水入炉 (water may be leaking into the furnace)")
        case .cleared(let at, let v):
            return RuleOutput(ruleIndex: 0, transition: .cleared, time: at, value: v, limit: limit,
                              message: "进出水流量差 \(show(v)) m3/h ≤ \(show(limit)) m3/h，已恢复 (flow difference back within limit)")
        }
    }
}
