import MeltWatchCore
import Testing

@testable import MeltWatchConfig

private let head = "broker: {url: 'mqtt://h', client_id: a}\nduty: {webhooks: [{url: 'http://127.0.0.1:9/a'}]}\n"

@Suite("Config: plants[].gateways, equipment sparkplug, signals tag, sparkplug.host_id (contract §2, §3)")
struct GatewayConfigTests {
    private let plant = """
    sparkplug: {host_id: meltwatch-1}
    plants:
      - id: baotou-steel
        gateways:
          - format: sparkplug-b
            group_id: Baotou
          - format: kepware-iot
            topic: kepware/baotou/#
          - format: neuron
            topic: neuron/baotou
          - format: json
            topic: acme/+/points
            readings: data.points
            tag: name
            value: v
            time: ts
            time_format: epoch_s
            quality: status
            good: [OK, 0]
        equipment:
          - id: bof1-lance
            template: steel.water-cooled-element
            sparkplug: { edge: EON-1, device: BOF1 }
            signals:
              inlet_flow: { topic: site/bof1/lance/FT101 }
              outlet_flow: { tag: "Lance/FT102" }
          - id: co-1
            template: steel.co-detector
            signals:
              co: { tag: Channel1.Device1.CO1 }
            setpoints:
              - {name: level1_sp, tag: Channel1.Device1.CO1_L1, approved: 24}

    """

    @Test("every source: topic override, Sparkplug metric (role name or tag), plant-wide tag, default topic")
    func sources() throws {
        let c = try parse(head + plant)
        #expect(c.sparkplugHostID == "meltwatch-1")
        let gateways = c.plants[0].gateways
        #expect(gateways.map(\.formatName) == ["sparkplug-b", "kepware-iot", "neuron", "json"])
        #expect(gateways.map(\.filter) == ["spBv1.0/Baotou/#", "kepware/baotou/#", "neuron/baotou", "acme/+/points"])
        guard case .sparkplugB(let group, let reorder) = gateways[0].format else { Issue.record("not sparkplug"); return }
        #expect(group == "Baotou" && reorder == 2000)
        guard case .json(let m) = gateways[3].format else { Issue.record("not json"); return }
        #expect(m.readings == ["data", "points"] && m.tag == ["name"] && m.value == ["v"] && m.time == ["ts"])
        #expect(m.timeFormat == .epochSeconds && m.quality == ["status"] && m.good == [.string("OK"), .number(0)])

        let byRole = Dictionary(uniqueKeysWithValues: c.signals.map { ("\($0.equipment).\($0.role)", $0.source) })
        #expect(byRole["bof1-lance.inlet_flow"] == .topic("site/bof1/lance/FT101"))
        #expect(byRole["bof1-lance.outlet_flow"] == .sparkplug(group: "Baotou", edge: "EON-1", device: "BOF1", metric: "Lance/FT102"))
        #expect(byRole["bof1-lance.furnace_operating"] == .sparkplug(group: "Baotou", edge: "EON-1", device: "BOF1", metric: "furnace_operating"))
        #expect(byRole["co-1.co"] == .tag("Channel1.Device1.CO1"))
        #expect(byRole["co-1.level1_sp"] == .tag("Channel1.Device1.CO1_L1"))
        // Subscriptions: the own topics left, and each gateway's filter; the lance's batch names
        // only the role still on MeltWatch's own JSON.
        #expect(c.subscriptionTopics.contains("spBv1.0/Baotou/#") && c.subscriptionTopics.contains("acme/+/points"))
        #expect(!c.subscriptionTopics.contains("plants/baotou-steel/co-1/co"))
        let lance = c.equipmentTopics.first { $0.topic == "plants/baotou-steel/bof1-lance" }
        #expect(lance?.roles.keys.sorted() == ["inlet_flow"])
        #expect(c.equipmentTopics.first { $0.topic == "plants/baotou-steel/co-1" }?.roles.keys.sorted() == ["fault"])
    }

    @Test("mistakes are reported at their line and column", arguments: [
        ("  - id: p\n    gateways:\n      - {format: opc-ua, topic: a}\n    equipment: []\n",
         "test.yaml:6:18: plants.p.gateways[0].format 'opc-ua' is unknown; allowed: sparkplug-b, kepware-iot, neuron, json"),
        ("  - id: p\n    gateways:\n      - {format: kepware-iot, topic: 'a/#/b'}\n    equipment: []\n",
         "test.yaml:6:38: plants.p.gateways[0].topic 'a/#/b' is not an MQTT topic filter"),
        ("  - id: p\n    gateways:\n      - {format: sparkplug-b, group_id: 'A/B'}\n    equipment: []\n",
         "test.yaml:6:41: plants.p.gateways[0].group_id 'A/B' must be a Sparkplug id"),
        ("  - id: p\n    gateways:\n      - {format: sparkplug-b}\n    equipment: []\n",
         "test.yaml:6:9: plants.p.gateways[0].group_id is required"),
        ("  - id: p\n    gateways:\n      - {format: json, topic: a/b, tag: name, value: v}\n    equipment: []\n",
         "plants.p.gateways[0].time is required"),
        ("  - id: p\n    gateways:\n      - {format: json, topic: a/b, tag: name, value: v, time: t, time_format: excel}\n    equipment: []\n",
         "plants.p.gateways[0].time_format 'excel' is unknown; allowed: epoch_ms, epoch_s, rfc3339"),
        ("  - id: p\n    gateways:\n      - {format: json, topic: a/b, tag: name, value: 'a..b', time: t}\n    equipment: []\n",
         "plants.p.gateways[0].value 'a..b' must be a dotted field path"),
        ("  - id: p\n    gateways:\n      - {format: json, topic: a/b, tag: name, value: v, time: t, quality: q}\n    equipment: []\n",
         "plants.p.gateways[0].quality needs good:"),
        ("  - id: p\n    gateways:\n      - {format: kepware-iot, topic: 'a/#'}\n      - {format: neuron, topic: 'a/+/c'}\n    equipment: []\n",
         "plants.p.gateways neuron 'a/+/c' overlaps plants.p.gateways kepware-iot 'a/#'"),
        ("  - id: p\n    gateways:\n      - {format: kepware-iot, topic: 'plants/#'}\n    equipment:\n      - {id: co, template: steel.co-detector}\n",
         "kepware-iot 'plants/#' also matches 'plants/p/co/co', a topic of MeltWatch's own JSON"),
        ("  - id: p\n    equipment:\n      - {id: co, template: steel.co-detector, sparkplug: {edge: E}}\n",
         "plants.p.equipment[0].sparkplug: this plant declares no sparkplug-b gateway"),
        ("  - id: p\n    gateways:\n      - {format: sparkplug-b, group_id: G}\n    equipment:\n      - {id: co, template: steel.co-detector, sparkplug: {edge: E, group: H}}\n",
         "plants.p.equipment[0].sparkplug.group 'H' is not the group_id of a sparkplug-b gateway of this plant"),
        ("  - id: p\n    gateways:\n      - {format: kepware-iot, topic: k/#}\n    equipment:\n      - {id: a, template: steel.co-detector, signals: {co: {tag: T}}}\n      - {id: b, template: steel.co-detector, signals: {co: {tag: T}}}\n",
         "tag 'T' of plant p is bound by both p/a.co and p/b.co"),
        ("  - id: p\n    gateways:\n      - {format: sparkplug-b, group_id: G}\n    equipment:\n      - {id: a, template: steel.co-detector, sparkplug: {edge: E}}\n      - {id: b, template: steel.co-detector, sparkplug: {edge: E}}\n",
         "Sparkplug metric 'co' of E is bound by both p/a.co and p/b.co"),
        ("  - id: p\n    equipment:\n      - {id: a, template: steel.co-detector, signals: {co: {tag: T, topic: x/y}}}\n",
         "plants.p.equipment[0].signals.co: topic and tag are two sources; give one"),
    ])
    func mistakes(plants: String, expected: String) {
        let d = diagnostics(head + "plants:\n" + plants)
        #expect(d.contains { $0.contains(expected) }, "got: \(d)")
    }

    @Test("sparkplug.host_id must be a Sparkplug id")
    func hostID() {
        let d = diagnostics(head + "sparkplug: {host_id: 'a/b'}\nplants: []\n")
        #expect(d.contains { $0.contains("sparkplug.host_id 'a/b' must be a Sparkplug id") }, "got: \(d)")
    }
}
