import Foundation
import MeltWatchCore
import MeltWatchRules
import Testing

@testable import MeltWatchConfig

private let valid = """
broker:
  url: mqtt://127.0.0.1:1883
  client_id: meltwatch-1
  qos: 1
journal:
  dir: /var/lib/meltwatch/journal
  fsync_interval_ms: 50
  retention_days: 400
duty:
  listen: 127.0.0.1:8080
  webhooks:
    - url: http://127.0.0.1:9000/alarms
  heartbeat_s: 30
  escalate_after_s: 300
plants:
  - id: baotou-steel
    name: 包头钢铁 一炼钢
    equipment:
      - id: bof1-lance
        template: steel.water-cooled-element
        params: { furnace_type: bof, flow_difference_max: 3.0, on_delay_s: 2, interlock_warn_s: 2, interlock_deadline_s: 5 }
        signals:
          inlet_flow: { topic: site/bof1/lance/FT101 }
      - id: co-converter-1
        template: steel.co-detector
        params: { preset: gb50493 }
"""

/// `text` parsed as `test.yaml` (relative paths from /tmp).
func parse(_ text: String) throws(ConfigError) -> MeltWatchConfig {
    try ConfigLoader.parse(bytes: Array(text.utf8), file: "test.yaml", baseDirectory: "/tmp")
}

/// The `FILE:LINE:COL: message` lines `text` gets, none when it is valid.
func diagnostics(_ text: String) -> [String] {
    do {
        _ = try parse(text)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

@Suite("Config: contract section 2, typed and validated")
struct ConfigTests {
    @Test("the contract's example config is valid, typed and has defaults applied")
    func contractExample() throws {
        let c = try parse(valid)
        #expect(c.broker.host == "127.0.0.1")
        #expect(c.broker.port == 1883)
        #expect(c.broker.clientID == "meltwatch-1")
        #expect(c.duty.listenPort == 8080)
        #expect(c.duty.webhooks.map(\.url) == ["http://127.0.0.1:9000/alarms"])
        #expect(c.plants[0].name == "包头钢铁 一炼钢")
        let lance = c.plants[0].equipment[0]
        #expect(lance.params["flow_difference_max"] == .number(3))
        #expect(lance.params["outlet_temp_high"] == .number(45))   // default applied
        #expect(lance.params["stale_after_s"] == .number(30))
        #expect(c.plants[0].equipment[1].params["preset"] == .choice("gb50493"))
    }

    @Test("topics: overrides, defaults and the per-equipment batch topic; subscriptions are exactly those")
    func topics() throws {
        let c = try parse(valid)
        let byRole = Dictionary(uniqueKeysWithValues: c.signals.filter { $0.equipment == "bof1-lance" }.map { ($0.role, $0.topic) })
        #expect(byRole["inlet_flow"] == "site/bof1/lance/FT101")
        #expect(byRole["outlet_flow"] == "plants/baotou-steel/bof1-lance/outlet_flow")
        #expect(c.equipmentTopics.map(\.topic) == ["plants/baotou-steel/bof1-lance", "plants/baotou-steel/co-converter-1"])
        #expect(Set(c.subscriptionTopics).count == c.subscriptionTopics.count)
        #expect(c.subscriptionTopics.count == c.signals.count + 2)
        #expect(c.signals.map(\.id.rawValue) == Array(0..<Int32(c.signals.count)))
    }

    @Test("each invalid config names the key, its position and the allowed values", arguments: [
        ("broker:\n  url: mqtt://h:1\n  client_id: a\n  colour: red\nplants: []\n",
         "test.yaml:4:3: broker.colour is not a known key; allowed: url, client_id, qos"),
        ("broker:\n  url: http://h\n  client_id: a\nplants: []\n", "test.yaml:2:8: broker.url 'http://h' is not mqtt://host:port"),
        ("broker:\n  url: mqtt://h\nplants: []\n", "broker.client_id is required"),
        ("broker:\n  url: mqtt://h\n  client_id: a\n  qos: 3\nplants: []\n", "test.yaml:4:8: broker.qos is 3; allowed: 1 ("),
        ("broker:\n  url: mqtt://h\n  client_id: a\n  password: x\nplants: []\n", "never a password inline"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.magic\n",
         "test.yaml:6:19: plants.p.equipment[0].template 'steel.magic' is unknown; allowed: steel.water-cooled-element, steel.co-detector, "),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: aluminium.dc-casting\n        params: {furnace: rotary}\n",
         "test.yaml:7:27: plants.p.equipment[0].params.furnace is 'rotary'; allowed: fixed, tilting"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: aluminium.dc-casting\n        params: {level_low: 200}\n",
         "test.yaml:7:17: plants.p.equipment[0].params.level_high (160.0) must be above plants.p.equipment[0].params.level_low (200.0)"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: aluminium.dc-casting\n        params: {expect: [platform_stopped]}\n",
         "test.yaml:7:27: plants.p.equipment[0].params.expect: 'platform_stopped' is not allowed; allowed: shutoff_closed, drain_open, launder_disconnected, furnace_tilted_back"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        params: {furnace_type: bessemer}\n",
         "test.yaml:7:32: plants.p.equipment[0].params.furnace_type is 'bessemer'; allowed: bof, eaf, aod, lf, rh, vod"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        params: {flow_difference_max: lots}\n",
         "params.flow_difference_max must be a number in m3/h"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        params: {on_delay_s: -1}\n",
         "params.on_delay_s is -1 s; it must be at least 0 s"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        params: {colour: 1}\n",
         "params.colour is not a known key; allowed: furnace_type, expect"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        signals: {nose: {topic: a/b}}\n",
         "signals.nose is not a known key; allowed: inlet_flow, outlet_flow"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        signals: {inlet_flow: {topic: 'a/+'}}\n",
         "must be a literal topic"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - id: e\n        template: steel.water-cooled-element\n        params: {expect: [lance_raised, furnace_operating]}\n",
         "params.expect: 'furnace_operating' is not allowed; allowed: tilt_locked, lance_raised, power_off, electrodes_raised"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment: []\n  - id: p\n    equipment: []\n",
         "test.yaml:5:9: plants[1].id 'p' is used by another plant"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: P_1\n    equipment: []\n", "plants[0].id 'P_1' must match [a-z0-9-]+"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - {id: e, template: steel.co-detector}\n      - {id: e, template: steel.co-detector}\n",
         "equipment 'e' is given twice"),
        ("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n      - {id: co, template: steel.co-detector}\n",
         "CO detectors are configured but duty has no route"),
        ("broker: {url: 'mqtt://h', client_id: a}\nbroker: {url: 'mqtt://h', client_id: a}\nplants: []\n", "test.yaml:2:1: config.broker is given twice"),
        ("broker: {url: 'mqtt://h', client_id: a\nplants: []\n", "YAML syntax"),
        ("broker: {url: 'mqtt://h', client_id: a}\nduty: {listen: 'nowhere'}\nplants: []\n", "duty.listen 'nowhere' must be host:port"),
        ("broker: {url: 'mqtt://h', client_id: a}\nduty: {webhooks: [{url: 'ftp://x'}]}\nplants: []\n", "must be an http:// or https:// URL"),
        ("broker: {url: 'mqtt://h', client_id: a}\nduty: {webhooks: [{url: 'http://x/a', secret_file: /nonexistent/secret}]}\nplants: []\n",
         "duty.webhooks[0].secret_file: cannot read /nonexistent/secret"),
    ])
    func invalid(text: String, expected: String) {
        let d = diagnostics(text)
        #expect(d.contains { $0.contains(expected) }, "got: \(d)")
    }

    @Test("addresses: host:port, [ipv6]:port, default broker ports; signs, spaces, stray colons and brackets are refused")
    func addresses() {
        func listen(_ s: String) -> String? { MeltWatchConfig.parseListen(s).map { "\($0.host) \($0.port)" } }
        func broker(_ s: String) -> String? { MeltWatchConfig.parseBrokerURL(s).map { "\($0.host) \($0.port) \($0.tls)" } }
        #expect(listen("127.0.0.1:8080") == "127.0.0.1 8080")
        #expect(listen("[::1]:0") == "::1 0")
        #expect(listen("duty.plant.local:65535") == "duty.plant.local 65535")
        for bad in ["nowhere", "127.0.0.1", ":8080", "::1:8080", "fe80::1", "[::1]", "[::1]8080", "[127.0.0.1]:80", "host:+80",
                    "host:-1", "host: 80", "host:65536", "host:080000", "host:８０", "ho st:80", "host:80:81", "[::1:80"] {
            #expect(MeltWatchConfig.parseListen(bad) == nil, "\(bad)")
        }
        #expect(broker("mqtt://broker") == "broker 1883 false")
        #expect(broker("mqtts://broker/") == "broker 8883 true")
        #expect(broker("mqtt://[::1]:1884") == "::1 1884 false")
        for bad in ["http://broker", "mqtt://", "mqtt://broker:0", "mqtt://broker:+1883", "mqtt://::1", "mqtt://user@broker",
                    "mqtt://broker:1883/topic", "mqtt://[::1]x"] {
            #expect(MeltWatchConfig.parseBrokerURL(bad) == nil, "\(bad)")
        }
        let d = diagnostics("broker: {url: 'mqtt://h', client_id: a}\nduty: {listen: '127.0.0.1:+80'}\nplants: []\n")
        #expect(d.contains { $0.contains("duty.listen '127.0.0.1:+80' must be host:port") }, "got: \(d)")
    }

    @Test("duty: off loopback a tokens file is required; a bad tokens line is FILE:LINE; public_url is an http(s) origin")
    func dutyWriteRules() throws {
        let base = "broker: {url: 'mqtt://h', client_id: a}\nplants: []\n"
        let open = diagnostics(base + "duty: {listen: '0.0.0.0:8080'}\n")
        #expect(open.contains { $0.contains("test.yaml:3:16: duty.listen '0.0.0.0:8080' is reachable from other machines: duty.tokens_file is required") }, "got: \(open)")
        #expect(diagnostics(base + "duty: {listen: 'duty.plant.local:8080'}\n").contains { $0.contains("duty.tokens_file is required") })
        for loopback in ["127.0.0.1:8080", "[::1]:8080", "localhost:8080", "127.0.0.2:80"] {
            #expect(diagnostics(base + "duty: {listen: '\(loopback)'}\n").isEmpty, "\(loopback)")
        }
        let dir = "/tmp/meltwatch-config-tokens-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "# ops\nmw-0123456789abcdef 张三 manager\n".write(toFile: dir + "/good", atomically: true, encoding: .utf8)
        try "mw-0123456789abcdef 张三\nshort 李四\n".write(toFile: dir + "/bad", atomically: true, encoding: .utf8)
        #expect(diagnostics(base + "duty: {listen: '0.0.0.0:8080', tokens_file: \(dir)/good}\n").isEmpty)
        let bad = diagnostics(base + "duty: {listen: '0.0.0.0:8080', tokens_file: \(dir)/bad}\n")
        #expect(bad.contains { $0.contains("duty.tokens_file: \(dir)/bad:2: the token is 5 characters; at least 16") }, "got: \(bad)")
        #expect(diagnostics(base + "duty: {public_url: 'https://duty.plant.example/'}\n").isEmpty)
        for url in ["ftp://duty", "https://user:pw@duty/", "https://duty/?token=x", "duty.plant.example"] {
            #expect(diagnostics(base + "duty: {public_url: '\(url)'}\n").contains { $0.contains("duty.public_url '\(url)' must be an http:// or https:// URL") }, "\(url)")
        }
        #expect(try parse(base + "duty: {public_url: 'https://duty.plant.example/'}\n").duty.publicURL == "https://duty.plant.example/")

        // A webhook whose URL carries its token: url_file, whose content is never echoed.
        try "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN\n".write(toFile: dir + "/robot.url", atomically: true, encoding: .utf8)
        try "not a url SECRET-TOKEN\n".write(toFile: dir + "/bad.url", atomically: true, encoding: .utf8)
        let hook = try parse(base + "duty: {webhooks: [{url_file: \(dir)/robot.url}]}\n").duty.webhooks.first
        #expect(hook?.url == "https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN" && hook?.urlFile == dir + "/robot.url")
        let both = diagnostics(base + "duty: {webhooks: [{url: 'http://x/a', url_file: \(dir)/robot.url}]}\n")
        #expect(both.contains { $0.contains("duty.webhooks[0] has both url and url_file") }, "got: \(both)")
        let badURL = diagnostics(base + "duty: {webhooks: [{url_file: \(dir)/bad.url}]}\n")
        #expect(badURL.contains { $0.contains("duty.webhooks[0].url_file \(dir)/bad.url must hold an http:// or https:// URL") }, "got: \(badURL)")
        #expect(!badURL.joined().contains("SECRET-TOKEN"), "the file's content is not repeated")
        #expect(diagnostics(base + "duty: {webhooks: [{url_file: /nonexistent/robot.url}]}\n").contains { $0.contains("url_file: cannot read /nonexistent/robot.url") })
    }

    @Test("duty.channels: chat robots with their URL in a file, a kind, an optional secret, min_priority and per_minute")
    func robots() throws {
        let base = "broker: {url: 'mqtt://h', client_id: a}\nplants: []\n"
        let dir = "/tmp/meltwatch-config-robots-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "https://oapi.dingtalk.com/robot/send?access_token=TOKEN-1\n".write(toFile: dir + "/ding.url", atomically: true, encoding: .utf8)
        try "SECxyz\n".write(toFile: dir + "/ding.secret", atomically: true, encoding: .utf8)
        let c = try parse(base + "duty:\n  channels:\n    - {kind: dingtalk, url_file: \(dir)/ding.url, secret_file: \(dir)/ding.secret, min_priority: emergency, per_minute: 10}\n"
            + "    - {kind: wecom, url_file: \(dir)/ding.url}\n")
        #expect(c.duty.channels.map(\.kind) == [.dingtalk, .wecom])
        #expect(c.duty.channels[0].minPriority == .emergency && c.duty.channels[0].perMinute == 10 && c.duty.channels[0].secretFile == dir + "/ding.secret")
        #expect(c.duty.channels[1].minPriority == .high && c.duty.channels[1].perMinute == 20)
        for (yaml, message) in [
            ("{kind: dingtalk, url: 'https://oapi.dingtalk.com/robot/send?access_token=TOKEN-1'}", "duty.channels[0].url: a robot's URL carries its token"),
            ("{kind: slack, url_file: \(dir)/ding.url}", "duty.channels[0].kind 'slack' must be one of dingtalk, wecom, feishu"),
            ("{kind: wecom}", "duty.channels[0].url_file is required"),
            ("{kind: wecom, url_file: \(dir)/ding.url, secret_file: \(dir)/ding.secret}", "WeCom group robots do not sign"),
            ("{kind: feishu, url_file: \(dir)/ding.url, min_priority: urgent}", "min_priority 'urgent' must be one of emergency, high, medium, low"),
            ("{kind: feishu, url_file: \(dir)/ding.url, per_minute: 500}", "duty.channels[0].per_minute is 500"),
        ] {
            let d = diagnostics(base + "duty:\n  channels:\n    - \(yaml)\n")
            #expect(d.contains { $0.contains(message) }, "\(yaml): \(d)")
            #expect(!d.joined().contains("TOKEN-1") || yaml.contains("url:"), "the file's URL is never repeated: \(d)")
        }
    }

    @Test("placeholders: site params the file leaves unset, not those it sets to the default value")
    func placeholders() throws {
        let c = try parse("broker: {url: 'mqtt://h', client_id: a}\nplants:\n  - id: p\n    equipment:\n"
            + "      - {id: c, template: aluminium.dc-casting, params: {furnace: fixed, level_high: 160}}\n")
        let names = c.plants[0].equipment[0].placeholderParams.map(\.name)
        #expect(!names.contains("furnace") && !names.contains("level_high"))
        #expect(names.contains("cooling_pressure_min") && names.contains("level_low"))
        #expect(!names.contains("level_gate_mm"))  // a documented industry default, not a site placeholder
    }

    @Test("every problem is reported, one per line, sorted by position")
    func allProblems() {
        let d = diagnostics("broker: {url: 'mqtt://h', client_id: a, qos: 9}\nplants:\n  - id: X\n    equipment:\n      - {id: e, template: nope}\n")
        #expect(d.count == 3, "got: \(d)")
        let positions = d.map { line in line.split(separator: ":").dropFirst().prefix(2).compactMap { Int($0) } }
        #expect(positions == positions.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test("shard: every equipment on exactly one instance, the same split for every instance; a bad shard is a located error")
    func shard() throws {
        let base = "broker: {url: 'mqtt://h', client_id: a}\nduty: {webhooks: [{url: 'http://h/a'}]}\nplants:\n  - id: p\n    equipment:\n"
            + (1...20).map { "      - {id: e\($0), template: steel.co-detector}\n" }.joined()
        let parts = try (0..<3).map { i in
            try parse(base + "shard: {index: \(i), count: 3}\n").allEquipment.map(\.equipment.id)
        }
        #expect(Set(parts.joined()).count == 20 && parts.map(\.count).reduce(0, +) == 20, "\(parts)")
        #expect(parts.allSatisfy { !$0.isEmpty })
        #expect(try parse(base + "shard: {index: 1, count: 3}\n").systemEquipment == "daemon-1")
        #expect(try parse(base).systemEquipment == "daemon" && (try parse(base)).allEquipment.count == 20)
        let d = diagnostics(base + "shard: {index: 3, count: 3}\n")
        #expect(d.count == 1 && d[0].contains("shard.index is 3; allowed: 0…2"), "\(d)")
        #expect(diagnostics(base + "shard: {count: 2}\n").first?.contains("shard needs index and count") == true)
    }

    @Test("the shipped example configs are valid")
    func shippedExamples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        _ = try ConfigLoader.load(path: root.appendingPathComponent("config/demo.yaml").path)
        // The example names the credentials systemd hands the service: stand them in.
        let credentials = "/tmp/meltwatch-credentials-\(getpid())"
        try? FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: credentials) }
        for (file, text) in [("mqtt.password", "pw\n"), ("duty.secret", "s\n"), ("duty.tokens", "mw-0123456789abcdef 值班长 manager\n")] {
            try text.write(toFile: "\(credentials)/\(file)", atomically: true, encoding: .utf8)
        }
        let example = try String(contentsOfFile: root.appendingPathComponent("config/meltwatch.example.yaml").path, encoding: .utf8)
        #expect(example.contains("/run/credentials/meltwatch.service/tokens") == false)
        let text = example.replacingOccurrences(of: "/run/credentials/meltwatch.service", with: credentials)
        let c = try ConfigLoader.parse(bytes: Array(text.utf8), file: "meltwatch.example.yaml", baseDirectory: credentials)
        #expect(c.broker.username == "meltwatch" && c.duty.tokensFile != nil && c.duty.webhooks.allSatisfy { $0.secretFile != nil },
                "the example installs signed, token-protected and authenticated to the shipped broker")
    }
}
