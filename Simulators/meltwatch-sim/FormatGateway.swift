import ArgumentParser
import Foundation
import MeltWatchConfig
import MeltWatchCore
import MeltWatchMQTT
import MeltWatchScenarios
import MeltWatchSparkplug
import Synchronization

/// `--format`: the gateway format the simulated plants publish in (contract §3).
enum SimFormat: String, ExpressibleByArgument, CaseIterable {
    /// MeltWatch's own JSON, per signal and per scan (the scenarios' own messages; the default).
    case native
    case sparkplugB = "sparkplug-b"
    case kepwareIoT = "kepware-iot"
    case neuron
    /// A home-grown JSON, rendered through the plant's `json` gateway's field mapping.
    case json
}

/// Publishes each scan's values as the plant's gateways of one format do, from the config's
/// bindings: a tag of a `kepware-iot` or `neuron` gateway, a Sparkplug edge node's metric, or (for a
/// signal still on MeltWatch's own JSON) its topic.
final class FormatGateway {
    private let format: SimFormat
    private let equipment: [SimEquipment]
    /// Per equipment index: role → where the config reads it.
    private let sources: [[String: SignalSource]]
    /// Plant → the literal topic its gateway of this format publishes on.
    private let plantTopics: [String: String]
    /// Plant → its `json` gateway's field mapping (`--format json`).
    private let mappings: [String: MeltWatchConfig.Mapping]
    private let publisher: Publisher
    private var edges: [String: SparkplugEdge] = [:]
    private let log: (String) -> Void

    init(format: SimFormat, config: MeltWatchConfig, equipment: [SimEquipment], publisher: Publisher,
         connect: (_ clientID: String, _ will: MQTTMessage) throws -> Publisher, log: @escaping (String) -> Void) throws {
        self.format = format
        self.equipment = equipment
        self.publisher = publisher
        self.log = log
        var byEquipment: [String: [String: SignalSource]] = [:]
        for s in config.signals { byEquipment["\(s.plant)/\(s.equipment)", default: [:]][s.role] = s.source }
        sources = equipment.map { byEquipment["\($0.plant)/\($0.id)"] ?? [:] }
        var topics: [String: String] = [:]
        var mappings: [String: MeltWatchConfig.Mapping] = [:]
        let wanted = format.rawValue
        for plant in config.plants {
            guard let g = plant.gateways.first(where: { $0.formatName == wanted }) else { continue }
            topics[plant.id] = Self.literalTopic(g.filter)
            if case .json(let m) = g.format { mappings[plant.id] = m }
        }
        plantTopics = topics
        self.mappings = mappings
        let plants = Set(equipment.map(\.plant))
        if format == .kepwareIoT || format == .neuron || format == .json {
            for p in plants.sorted() where topics[p] == nil {
                throw ValidationError("--format \(format.rawValue): plant \(p) declares no \(format.rawValue) gateway (plants[].gateways)")
            }
        }
        if format == .sparkplugB {
            var edgeMetrics: [String: [SparkplugEdge.Binding]] = [:]
            for (i, eq) in equipment.enumerated() {
                for (role, source) in sources[i] {
                    guard case .sparkplug(let group, let edge, let device, let metric) = source else { continue }
                    edgeMetrics["\(group)/\(edge)", default: []].append(.init(equipment: i, role: role, device: device, metric: metric))
                }
                if !sources[i].values.contains(where: { if case .sparkplug = $0 { true } else { false } }) {
                    log("warning: \(eq.plant)/\(eq.id) names no Sparkplug edge node (equipment sparkplug:); its values go out as MeltWatch JSON")
                }
            }
            for (key, bindings) in edgeMetrics.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                edges[key] = try SparkplugEdge(group: parts[0], edge: parts[1], bindings: bindings, hostID: config.sparkplugHostID,
                                               connect: connect, log: log)
            }
        }
    }

    /// The topic a gateway publishes on under its filter: `+` and `#` levels become `sim`.
    static func literalTopic(_ filter: String) -> String {
        filter.split(separator: "/", omittingEmptySubsequences: false).map { $0 == "+" || $0 == "#" ? "sim" : String($0) }.joined(separator: "/")
    }

    /// Publishes one scan's samples.
    func publish(_ samples: [SimSample]) throws {
        var kepware: [String: [String]] = [:]  // plant → entries
        var neuron: [String: [String: (values: [String], errors: [String], ts: Int64)]] = [:]  // plant → node/group → …
        var spark: [String: [(SparkplugEdge.Binding, SimSample)]] = [:]
        var mapped: [String: [String]] = [:]  // plant → reading objects
        for s in samples {
            let eq = equipment[s.equipment]
            switch sources[s.equipment][s.role] {
            case .tag(let tag)? where format == .kepwareIoT:
                let v = Self.json(s.value)
                kepware[eq.plant, default: []].append("{\"id\":\(Self.quoted(tag)),\"v\":\(v),\"q\":\(s.quality == .good ? "true" : "false"),\"t\":\(s.time)}")
            case .tag(let tag)? where format == .neuron:
                let parts = tag.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { throw ValidationError("--format neuron: tag '\(tag)' is not <node>/<group>/<name>") }
                let key = "\(parts[0])/\(parts[1])"
                var entry = neuron[eq.plant, default: [:]][key] ?? ([], [], s.time)
                if s.quality == .bad {
                    entry.errors.append("\(Self.quoted(String(parts[2]))):1")
                } else {
                    entry.values.append("\(Self.quoted(String(parts[2]))):\(Self.json(s.value))")
                }
                neuron[eq.plant, default: [:]][key] = entry
            case .tag(let tag)? where format == .json:
                guard let m = mappings[eq.plant] else { continue }
                if m.tag == nil {
                    // `tag: "{topic}"`: the topic is the tag, one reading per message.
                    try publisher.publish(topic: tag, text: Self.mappedReading(m, tag: nil, s))
                } else {
                    mapped[eq.plant, default: []].append(Self.mappedReading(m, tag: tag, s))
                }
            case .sparkplug(let group, let edge, _, _)?:
                let key = "\(group)/\(edge)"
                guard let binding = edges[key]?.binding(equipment: s.equipment, role: s.role) else { continue }
                spark[key, default: []].append((binding, s))
            case .topic(let topic)?:
                try publisher.publish(topic: topic, text: "{\"ts\":\(s.time),\"v\":\(Self.json(s.value)),\"q\":\"\(s.quality.name)\"}")
            default:
                continue  // a role the config does not read in this format
            }
        }
        for (plant, entries) in kepware.sorted(by: { $0.key < $1.key }) {
            let ts = samples.first?.time ?? 0
            try publisher.publish(topic: plantTopics[plant]!, text: "{\"timestamp\":\(ts),\"values\":[\(entries.joined(separator: ","))]}")
        }
        for (plant, groups) in neuron.sorted(by: { $0.key < $1.key }) {
            for (key, g) in groups.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "/", maxSplits: 1)
                var body = "{\"timestamp\":\(g.ts),\"node\":\(Self.quoted(String(parts[0]))),\"group\":\(Self.quoted(String(parts[1]))),\"values\":{\(g.values.joined(separator: ","))}"
                if !g.errors.isEmpty { body += ",\"errors\":{\(g.errors.joined(separator: ","))}" }
                try publisher.publish(topic: plantTopics[plant]!, text: body + "}")
            }
        }
        for (plant, readings) in mapped.sorted(by: { $0.key < $1.key }) {
            let m = mappings[plant]!
            let array = "[" + readings.joined(separator: ",") + "]"
            // The readings array at its dotted path, inside the objects the path names.
            let body = m.readings.map { Self.nest(path: $0, array) } ?? array
            try publisher.publish(topic: plantTopics[plant]!, text: body)
        }
        for (key, edge) in edges.sorted(by: { $0.key < $1.key }) {
            try edge.publish(spark[key] ?? [])
        }
    }

    /// One reading as a mapped gateway writes it: tag, value, time (in the mapping's format) and
    /// quality (the first good value, or a value the mapping does not list as good).
    static func mappedReading(_ m: MeltWatchConfig.Mapping, tag: String?, _ s: SimSample) -> String {
        var fields: [([String], String)] = []
        if let path = m.tag, let tag { fields.append((path, quoted(tag))) }
        fields.append((m.value, json(s.value)))
        let time: String = switch m.timeFormat {
        case .epochMilliseconds: String(s.time)
        case .epochSeconds: String(s.time / 1000) + "." + String(String(1000 + s.time % 1000).dropFirst())
        case .rfc3339: quoted(EventTime(milliseconds: s.time).rfc3339)
        }
        fields.append((m.time, time))
        if let q = m.quality {
            let good: String = switch m.good.first {
            case .string(let t)?: quoted(t)
            case .number(let d)?: json(.number(d))
            case .bool(let b)?: b ? "true" : "false"
            case nil: "true"
            }
            fields.append((q, s.quality == .bad ? "\"MELTWATCH-SIM-BAD\"" : good))
        }
        return object(fields)
    }

    /// `{"a":{"b":value}}` for path `a.b`.
    static func nest(path: [String], _ value: String) -> String {
        path.reversed().reduce(value) { inner, key in "{\(quoted(key)):\(inner)}" }
    }

    /// An object holding each value at its dotted path (paths sharing a first part share its object).
    static func object(_ fields: [([String], String)]) -> String {
        var order: [String] = []
        var groups: [String: [([String], String)]] = [:]
        for (path, value) in fields {
            if groups[path[0]] == nil { order.append(path[0]) }
            groups[path[0], default: []].append((Array(path.dropFirst()), value))
        }
        let members = order.map { key -> String in
            let g = groups[key]!
            if let leaf = g.first(where: { $0.0.isEmpty }) { return "\(quoted(key)):\(leaf.1)" }
            return "\(quoted(key)):\(object(g))"
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Waits for every edge node's messages, then lets them go (an edge node's clean stop: no NDEATH;
    /// the host sees the node fall silent, as it would see a gateway stop publishing).
    func finish() {
        for edge in edges.values {
            if !edge.publisher.waitUntilAcknowledged(timeoutMilliseconds: 10_000) {
                log("warning: \(edge.publisher.outstanding) Sparkplug messages not acknowledged by the broker")
            }
            edge.publisher.close()
        }
    }

    static func json(_ v: Value) -> String {
        switch v {
        case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): b ? "true" : "false"
        }
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}

/// One simulated Sparkplug B edge node: its own MQTT connection with NDEATH as its will, NBIRTH and a
/// DBIRTH per device at its first scan, DDATA/NDATA by alias after, `seq` across them all; it
/// answers a rebirth request (NCMD) with new births, and while its Primary Host's STATE says
/// offline it stores its data and forwards it as historical metrics once the host is back.
final class SparkplugEdge {
    struct Binding: Sendable {
        var equipment: Int
        var role: String
        var device: String?
        var metric: String
    }

    let group: String
    let edge: String
    let publisher: Publisher
    private let bindings: [Binding]
    private let index: [String: Int]
    /// Alias of binding i: i + 1 (aliases are unique across the node and its devices). `bdSeq` is
    /// this process's (a restarted simulator is a new session: a late NDEATH of the old one must
    /// not match it).
    private let bdSeq = UInt64(getpid()) % 256
    /// Each binding's datatype, fixed by its first value (a birth must not change it).
    private var types: [Int: SparkplugDataType] = [:]
    private var seq: UInt64 = 0
    private var born = false
    /// The last value of each binding, for births.
    private var last: [Int: (Value, Quality)] = [:]
    /// Set from libmosquitto's network thread (the edge node's subscriptions).
    private final class Flags: Sendable {
        let rebirthRequested = Atomic<Bool>(false)
        let hostOffline = Atomic<Bool>(false)
    }
    private let flags = Flags()
    /// Data kept while the Primary Host is offline: forwarded as historical metrics.
    private var stored: [(Int, SimSample)] = []
    private let log: (String) -> Void

    init(group: String, edge: String, bindings: [Binding], hostID: String?,
         connect: (String, MQTTMessage) throws -> Publisher, log: @escaping (String) -> Void) throws {
        self.group = group
        self.edge = edge
        self.bindings = bindings.sorted { ($0.device ?? "", $0.metric) < ($1.device ?? "", $1.metric) }
        var index: [String: Int] = [:]
        for (i, b) in self.bindings.enumerated() { index["\(b.equipment)/\(b.role)"] = i }
        self.index = index
        self.log = log
        let death = SparkplugPayloads.nodeDeath(bdSeq: UInt64(getpid()) % 256)
        publisher = try connect("meltwatch-sim-\(group)-\(edge)-\(getpid())",
                                MQTTMessage(topic: SparkplugMessageType.nodeDeath.topic(group: group, edge: edge), payload: death, qos: 1))
        let flags = flags
        let ncmd = SparkplugMessageType.nodeCommand.topic(group: group, edge: edge)
        let state = hostID.map { "spBv1.0/STATE/\($0)" }
        // One handler for both subscriptions (a client has one).
        let handler: @Sendable (MQTTMessage) -> Void = { m in
            if m.topic == ncmd, SparkplugPayloads.isRebirthRequest(m.payload) {
                flags.rebirthRequested.store(true, ordering: .releasing)
            } else if m.topic == state {
                let text = String(decoding: m.payload, as: UTF8.self)
                flags.hostOffline.store(text.contains("\"online\":false"), ordering: .releasing)
            }
        }
        try publisher.subscribe(ncmd, handler: handler)
        if let state { try publisher.subscribe(state, handler: handler) }
    }

    func binding(equipment: Int, role: String) -> Binding? {
        index["\(equipment)/\(role)"].map { bindings[$0] }
    }

    private func nextSeq() -> UInt64 {
        defer { seq = (seq + 1) % 256 }
        return seq
    }

    private func metric(_ i: Int, value: Value?, quality: Quality, birth: Bool, time: Int64? = nil, historical: Bool = false) -> SparkplugMetric {
        let b = bindings[i]
        let type: SparkplugDataType
        if let known = types[i] {
            type = known
        } else {
            type = if case .bool? = value { .boolean } else { .double }
            types[i] = type
        }
        return SparkplugMetric(name: birth ? b.metric : nil, alias: UInt64(i + 1), datatype: type,
                               value: quality == .bad ? nil : value, timestamp: time.map { EventTime(milliseconds: $0) },
                               isHistorical: historical, sendsDatatype: birth)
    }

    // Every message at QoS 1, although Sparkplug 3.0 publishes births and data at QoS 0: a QoS 0
    // message is neither acknowledged nor queued for a persistent session, so MeltWatch could not
    // keep its zero-loss promise for it (README, "Sparkplug B"). Edge nodes that can, should too.

    /// One scan: births first (at the first scan, or after a rebirth request), else DATA by alias.
    func publish(_ samples: [(Binding, SimSample)]) throws {
        for (b, s) in samples { if let i = index["\(b.equipment)/\(b.role)"] { last[i] = (s.value, s.quality) } }
        let time = EventTime(milliseconds: samples.first?.1.time ?? Int64(Date().timeIntervalSince1970 * 1000))
        if flags.hostOffline.load(ordering: .acquiring) && born {
            for (b, s) in samples { if let i = index["\(b.equipment)/\(b.role)"] { stored.append((i, s)) } }
            return
        }
        if !born || flags.rebirthRequested.exchange(false, ordering: .acquiringAndReleasing) {
            try births(at: time)
            return
        }
        if !stored.isEmpty {
            // Store and forward: what the host missed, on its own timestamps.
            try publishData(stored.map { (i, s) in (i, metric(i, value: s.value, quality: s.quality, birth: false, time: s.time, historical: true)) }, at: time)
            log("\(edge): forwarded \(stored.count) stored values as historical metrics")
            stored.removeAll()
        }
        try publishData(samples.compactMap { (b, s) in
            index["\(b.equipment)/\(b.role)"].map { ($0, metric($0, value: s.value, quality: s.quality, birth: false)) }
        }, at: time)
    }

    private func births(at time: EventTime) throws {
        seq = 0
        let nodeMetrics = bindings.indices.filter { bindings[$0].device == nil && last[$0] != nil }
        try publisher.publish(topic: SparkplugMessageType.nodeBirth.topic(group: group, edge: edge),
                              payload: SparkplugPayloads.nodeBirth(timestamp: time, bdSeq: bdSeq,
                                                                   metrics: nodeMetrics.map { metric($0, value: last[$0]!.0, quality: last[$0]!.1, birth: true) },
                                                                   seq: nextSeq()), qos: 1)
        let devices = Set(bindings.compactMap(\.device)).sorted()
        for d in devices {
            let ms = bindings.indices.filter { bindings[$0].device == d && last[$0] != nil }
            try publisher.publish(topic: SparkplugMessageType.deviceBirth.topic(group: group, edge: edge, device: d),
                                  payload: SparkplugPayloads.deviceBirth(timestamp: time, seq: nextSeq(),
                                                                         metrics: ms.map { metric($0, value: last[$0]!.0, quality: last[$0]!.1, birth: true) }),
                                  qos: 0)
        }
        born = true
    }

    private func publishData(_ metrics: [(Int, SparkplugMetric)], at time: EventTime) throws {
        var byDevice: [String: [SparkplugMetric]] = [:]
        var node: [SparkplugMetric] = []
        for (i, m) in metrics {
            if let d = bindings[i].device { byDevice[d, default: []].append(m) } else { node.append(m) }
        }
        if !node.isEmpty {
            try publisher.publish(topic: SparkplugMessageType.nodeData.topic(group: group, edge: edge),
                                  payload: SparkplugPayloads.data(timestamp: time, seq: nextSeq(), metrics: node), qos: 1)
        }
        for (d, ms) in byDevice.sorted(by: { $0.key < $1.key }) {
            try publisher.publish(topic: SparkplugMessageType.deviceData.topic(group: group, edge: edge, device: d),
                                  payload: SparkplugPayloads.data(timestamp: time, seq: nextSeq(), metrics: ms), qos: 1)
        }
    }
}
