import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64(s * 1000)) }
private let wce = TemplateCatalog.named("steel.water-cooled-element")!
private let coTemplate = TemplateCatalog.named("steel.co-detector")!

/// A model of `(id, template, param overrides)` equipment, every role a signal with health settings.
private func model(_ items: [(id: String, template: TemplateSpec, params: [String: ParamValue])], hash: String) -> EngineModel {
    var equipment: [EngineEquipment] = []
    var signals: [EngineSignal] = []
    for (e, item) in items.enumerated() {
        var params = Dictionary(uniqueKeysWithValues: item.template.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
        params.merge(item.params) { _, new in new }
        equipment.append(EngineEquipment(plant: "p", id: item.id, template: item.template, params: params))
        for r in item.template.roles.indices {
            signals.append(EngineSignal(equipment: e, role: r, health: HealthSettings(
                staleAfterMilliseconds: 30_000, frozenAfterMilliseconds: 600_000, range: nil, required: !item.template.roles[r].isOptional)))
        }
    }
    return EngineModel(equipment: equipment, signals: signals, configHash: hash)
}

private let lance = (id: "lance", template: wce, params: ["on_delay_s": ParamValue.number(2)])
private let co = (id: "co-1", template: coTemplate, params: [String: ParamValue]())

private final class Run {
    var engine: Engine
    var events: [AlarmEvent] = []

    init(_ m: EngineModel) { engine = Engine(model: m) }

    func id(_ equipment: String, _ role: String) -> SignalID {
        let m = engine.model
        let e = m.equipment.firstIndex { $0.id == equipment }!
        let r = m.equipment[e].template.roleIndex(role)!
        return SignalID(Int32(m.signals.firstIndex { $0.equipment == e && $0.role == r }!))
    }

    func read(_ equipment: String, _ role: String, _ v: Value, at s: Double) {
        engine.process(.reading(Reading(signal: id(equipment, role), value: v, quality: .good, time: t(s)))) { events.append($0) }
    }

    func tick(_ s: Double) { engine.process(.tick(t(s))) { events.append($0) } }

    /// A leaking lance: inlet − outlet 6 m3/h while the furnace operates.
    func leak(at s: Double) {
        read("lance", "furnace_operating", .bool(true), at: s)
        read("lance", "inlet_flow", .number(120), at: s)
        read("lance", "outlet_flow", .number(114), at: s)
    }

    func reload(_ m: EngineModel) -> EngineReload {
        let (next, result) = Engine.reloading(engine, into: m)
        engine = next
        return result
    }

    var summary: [String] {
        events.map { "\($0.equipment) \($0.rule) \($0.kind.rawValue)@\(Double($0.eventTime.milliseconds - t0) / 1000) #\($0.activation) \($0.configHash)" }
    }
}

@Suite("Engine reload: unchanged equipment continue, the others start fresh")
struct EngineReloadTests {
    @Test("an unchanged element keeps its pending on-delay, its interlock check and its numbering, whatever moved around it")
    func carried() {
        let run = Run(model([lance, co], hash: "sha256:old"))
        run.tick(0)
        run.leak(at: 0)
        run.tick(1)
        // A new detector first, the old ones after it: every index moves.
        let result = run.reload(model([(id: "co-2", template: coTemplate, params: [:]), co, lance], hash: "sha256:new"))
        #expect(result.carried == ["p:lance", "p:co-1"] && result.fresh == ["p:co-2"] && result.removed.isEmpty)
        #expect(run.engine.signals[Int(run.id("lance", "inlet_flow").rawValue)].value == .number(120), "last values carried")
        run.leak(at: 2.5)
        // Raised where the on-delay begun before the reload ends; the interlock check it starts times
        // out on the timers carried over, without any further reading.
        run.tick(7.1)
        run.tick(8.2)
        #expect(run.summary == [
            "lance flow-difference raised@2.0 #1 sha256:new",
            "lance interlock-failed raised@5.0 #1 sha256:new",  // the deadline counts from the excursion at 0
        ])
    }

    @Test("a changed element starts fresh: its on-delay begins again with the new limits")
    func changed() {
        let run = Run(model([lance, co], hash: "sha256:old"))
        run.tick(0)
        run.leak(at: 0)
        run.tick(1)
        let result = run.reload(model([(id: "lance", template: wce, params: ["on_delay_s": .number(2), "flow_difference_max": .number(4)]), co],
                                      hash: "sha256:new"))
        #expect(result.carried == ["p:co-1"] && result.fresh == ["p:lance"])
        run.leak(at: 2.5)
        #expect(run.summary.isEmpty, "the old on-delay is gone with the old rules")
        run.leak(at: 4.6)
        #expect(run.summary == ["lance flow-difference raised@4.5 #1 sha256:new"])
    }

    @Test("equipment the new model lacks are removed; an alarm open there is the book's to close")
    func removed() {
        let run = Run(model([lance, co], hash: "sha256:old"))
        run.tick(0)
        run.read("co-1", "co", .number(40), at: 0)
        #expect(run.summary == ["co-1 co-level-1 raised@0.0 #1 sha256:old"])
        let result = run.reload(model([lance], hash: "sha256:new"))
        #expect(result.removed == ["p:co-1"] && result.carried == ["p:lance"] && result.fresh.isEmpty)
        run.tick(40)
        // The lance never reported: its plant is silent, one gateway-silent for its required signals only.
        #expect(run.summary.count == 1 + 1 && run.summary.last?.hasPrefix("gateway gateway-silent raised") == true, "\(run.summary)")
        #expect(!run.summary.dropFirst().contains { $0.hasPrefix("co-1") })
    }
}
