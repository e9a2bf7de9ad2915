import MeltWatchCore
import MeltWatchRules
import Testing

@testable import MeltWatchConfig

private let head = "broker: {url: 'mqtt://h', client_id: a}\nduty: {webhooks: [{url: 'http://127.0.0.1:9/a'}]}\nplants:\n"

@Suite("Config: plants[].industry and region, equipment setpoints (contract §2)")
struct PlantAndSetpointTests {
    @Test("industry decides the CO detectors' basis; omitted, the templates imply it", arguments: [
        ("    industry: aluminium\n", Industry.aluminium), ("", .steel), ("    industry: dust\n", .dust),
    ])
    func industry(line: String, expected: Industry) throws {
        let c = try parse(head + "  - id: p\n    region: 内蒙古自治区包头市\n" + line + "    equipment:\n      - {id: co, template: steel.co-detector}\n")
        #expect(c.plants[0].industry == expected)
        #expect(c.plants[0].region == "内蒙古自治区包头市")
        #expect(c.engineModel(configHash: "h").equipment[0].industry == expected)
    }

    @Test("an aluminium plant is aluminium without saying so; an unknown industry is refused with the allowed values")
    func inferredAndRefused() throws {
        let c = try parse(head + "  - id: p\n    equipment:\n      - {id: cast1, template: aluminium.dc-casting}\n      - {id: co, template: steel.co-detector}\n")
        #expect(c.plants[0].industry == .aluminium)
        let d = diagnostics(head + "  - id: p\n    industry: copper\n    equipment: []\n")
        #expect(d.contains { $0.contains("test.yaml:5:15: plants[0].industry 'copper' is not one of steel, aluminium, dust") }, "\(d)")
    }

    @Test("a CO detector in clean air is never frozen by default: frozen_after_s defaults to 0 in the engine model")
    func coFrozenOff() throws {
        let c = try parse(head + "  - id: p\n    equipment:\n      - {id: co, template: steel.co-detector}\n      - {id: lance, template: steel.water-cooled-element}\n")
        let model = c.engineModel(configHash: "h")
        let co = model.signals.filter { $0.equipment == 0 }.compactMap(\.health)
        let lance = model.signals.filter { $0.equipment == 1 }.compactMap(\.health)
        #expect(!co.isEmpty && co.allSatisfy { $0.frozenAfterMilliseconds == 0 })
        #expect(!lance.isEmpty && lance.allSatisfy { $0.frozenAfterMilliseconds == 600_000 })
    }

    @Test("setpoints: topics routed like signals, after the template's roles, no health judged")
    func setpoints() throws {
        let c = try parse(head + """
          - id: p
            equipment:
              - id: lance
                template: steel.water-cooled-element
                setpoints:
                  - {name: flow_difference_sp, topic: site/lance/FDIFF_SP, approved: 3.0, tolerance: 0.05, unit: m3/h}
                  - {name: deadline_sp, topic: site/lance/DL_SP, approved: 5}

        """)
        let eq = c.plants[0].equipment[0]
        #expect(eq.setpoints.map(\.name) == ["flow_difference_sp", "deadline_sp"])
        #expect(eq.setpoints[1].tolerance == 0 && eq.setpoints[1].unit == nil)
        let roles = eq.template.roles.count
        let sp = c.signals.filter { $0.roleIndex >= roles }
        #expect(sp.map(\.topic) == ["site/lance/FDIFF_SP", "site/lance/DL_SP"])
        #expect(sp.map(\.role) == ["flow_difference_sp", "deadline_sp"])
        #expect(c.subscriptionTopics.contains("site/lance/FDIFF_SP"))
        let model = c.engineModel(configHash: "h")
        #expect(model.equipment[0].setpoints.map(\.source) == ["site/lance/FDIFF_SP", "site/lance/DL_SP"])
        #expect(model.signals.suffix(2).allSatisfy { $0.health == nil })
        #expect(model.equipment[0].roleName(roles + 1) == "deadline_sp")
    }

    @Test("a setpoint needs a name, a literal topic or a tag, and an approved value; a tag needs a gateway format", arguments: [
        ("{name: sp, approved: 1}", "plants.p.equipment[0].setpoints[0] needs topic: (MeltWatch's own JSON) or tag:"),
        ("{name: sp, topic: a/b}", "setpoints[0].approved is required"),
        ("{name: sp, tag: Lance/SP, approved: 1}", "p/e.sp is read by tag 'Lance/SP' but plant p declares no kepware-iot, neuron or json gateway"),
        ("{name: sp, tag: Lance/SP, topic: a/b, approved: 1}", "setpoints[0]: topic and tag are two sources; give one"),
        ("{name: inlet_flow, topic: a/b, approved: 1}", "setpoints[0].name 'inlet_flow' is already a role or setpoint"),
        ("{name: 'S P', topic: a/b, approved: 1}", "setpoints[0].name 'S P' must match [a-z0-9_-]+"),
        ("{name: sp, topic: 'a/#', approved: 1}", "setpoints[0].topic 'a/#' must be a literal topic"),
        ("{name: sp, topic: a/b, approved: 1, tolerance: -1}", "setpoints[0].tolerance is -1"),
        ("{name: sp, topic: a/b, approved: 1, colour: red}", "setpoints[0].colour is not a known key"),
        ("{name: sp, topic: site/x, approved: 1}\n          - {name: sp2, topic: site/x, approved: 2}", "topic 'site/x' is used by both"),
    ])
    func invalidSetpoints(entry: String, expected: String) {
        let d = diagnostics(head + "  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        setpoints:\n          - \(entry)\n")
        #expect(d.contains { $0.contains(expected) }, "got: \(d)")
    }
}
