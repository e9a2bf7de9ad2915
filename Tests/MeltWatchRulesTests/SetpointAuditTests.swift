import MeltWatchCore
import Testing

@testable import MeltWatchRules

private let element = TemplateCatalog.named("steel.water-cooled-element")!
private let t0: Int64 = 1_763_884_800_000
private func t(_ s: Double) -> EventTime { EventTime(milliseconds: t0 + Int64((s * 1000).rounded())) }

/// One element with two audited setpoints after its roles: the flow-difference trip (approved 3.0 ±
/// 0.05 m3/h) and the interlock deadline (approved 5 s, exact).
private func makeEngine() -> (Engine, flowSP: SignalID, deadlineSP: SignalID) {
    let params = Dictionary(uniqueKeysWithValues: element.params.compactMap { p in p.defaultValue.map { (p.name, $0) } })
    let roles = element.roles.count
    let model = EngineModel(
        equipment: [EngineEquipment(plant: "p", id: "lance", template: element, params: params, setpoints: [
            .init(name: "flow_difference_sp", source: "plants/p/lance/FDIFF_SP", approved: 3.0, tolerance: 0.05, unit: "m3/h"),
            .init(name: "deadline_sp", source: "plants/p/lance/DL_SP", approved: 5, tolerance: 0, unit: "s"),
        ])],
        signals: (0..<roles + 2).map { EngineSignal(equipment: 0, role: $0) },
        configHash: "sha256:test"
    )
    return (Engine(model: model), SignalID(Int32(roles)), SignalID(Int32(roles + 1)))
}

@Suite("Setpoint audit: the PLC's setpoints against their approved values")
struct SetpointAuditTests {
    @Test("a setpoint beyond its tolerance raises setpoint-mismatch naming it; back within clears it; every change is recorded")
    func mismatchAndChanges() throws {
        let (engine, flowSP, _) = makeEngine()
        var events: [AlarmEvent] = []
        var changes: [SetpointChange] = []
        engine.onSetpointChange = { changes.append($0) }
        for (s, v, q) in [(0.0, 3.0, Quality.good), (10, 3.04, .good), (20, 3.04, .good), (30, 4.0, .good), (35, 9.9, .bad),
                          (40, 3.02, .good)] {
            engine.process(.reading(Reading(signal: flowSP, value: .number(v), quality: q, time: t(s)))) { events.append($0) }
        }
        // The first value, a change within tolerance, the change out of it, the change back; a repeat
        // and a bad reading are no change.
        #expect(changes.map(\.value) == [3.0, 3.04, 4.0, 3.02])
        #expect(changes.map(\.previous) == [nil, 3.0, 3.04, 4.0])
        #expect(changes.map(\.mismatch) == [false, false, true, false])
        #expect(events.map { "\($0.rule) \($0.kind.rawValue)@\(($0.eventTime.milliseconds - t0) / 1000)" }
            == ["setpoint-mismatch raised@30", "setpoint-mismatch cleared@40"])
        let raised = try #require(events.first)
        #expect(raised.alarmID == "p:lance:setpoint-mismatch:1")
        #expect(raised.alarmClass == .interlock && raised.priority == .high)
        #expect(raised.basis == "忻应急发〔2024〕216号: 设置的报警联锁参数值是否符合现场实际")
        #expect(raised.signals == ["flow_difference_sp"] && raised.value == 4 && raised.limit == 3 && raised.unit == "m3/h")
        #expect(raised.message.contains("flow_difference_sp") && raised.message.contains("plants/p/lance/FDIFF_SP"))
        #expect(events.last?.state == .rtnUnacked)
    }

    @Test("setpoints of one equipment number their alarms together; exactly the tolerance conforms", arguments: [
        (5.0, false), (5.001, true), (4.999, true),
    ])
    func tolerance(value: Double, mismatch: Bool) {
        let (engine, flowSP, deadlineSP) = makeEngine()
        var events: [AlarmEvent] = []
        engine.process(.reading(Reading(signal: flowSP, value: .number(3.05), time: t(0)))) { events.append($0) }
        engine.process(.reading(Reading(signal: flowSP, value: .number(2.9), time: t(1)))) { events.append($0) }
        engine.process(.reading(Reading(signal: deadlineSP, value: .number(value), time: t(2)))) { events.append($0) }
        #expect(events.map(\.alarmID) == ["p:lance:setpoint-mismatch:1"] + (mismatch ? ["p:lance:setpoint-mismatch:2"] : []))
    }

    @Test("setpoint readings never reach the template's rules, and the numbering resumes after a restart")
    func separateFromRules() {
        let (engine, flowSP, _) = makeEngine()
        var events: [AlarmEvent] = []
        #expect(engine.resume(plant: "p", equipment: "lance", rule: "setpoint-mismatch", activations: 7, latchedOpen: false))
        engine.process(.reading(Reading(signal: flowSP, value: .number(100), time: t(0)))) { events.append($0) }
        engine.process(.tick(t(60))) { events.append($0) }
        #expect(events.map(\.alarmID) == ["p:lance:setpoint-mismatch:8"])
        #expect(engine.healthSummary()[Int(flowSP.rawValue)] == "ok")
    }
}
