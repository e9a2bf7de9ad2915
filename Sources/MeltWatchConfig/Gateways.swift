import MeltWatchCore
import MeltWatchDecode
import Yams

extension MeltWatchConfig {
    /// One `plants[].gateways` entry: a gateway format and where its messages arrive (contract §3).
    public struct Gateway: Sendable, Equatable {
        public enum Format: Sendable, Equatable {
            /// Eclipse Sparkplug B 3.0 for one group: `spBv1.0/<group>/#`.
            case sparkplugB(groupID: String, reorderTimeoutMilliseconds: Int)
            /// KEPServerEX IoT Gateway standard JSON.
            case kepwareIoT
            /// EMQ Neuron, values- or tags-format.
            case neuron
            /// Any other JSON, read through a field mapping.
            case json(Mapping)
        }

        public var format: Format
        /// The MQTT topic filter the daemon subscribes to for this gateway.
        public var filter: String

        /// The contract's name of the format.
        public var formatName: String {
            switch format {
            case .sparkplugB: "sparkplug-b"
            case .kepwareIoT: "kepware-iot"
            case .neuron: "neuron"
            case .json: "json"
            }
        }

        /// The Sparkplug group, for a `sparkplug-b` gateway.
        public var sparkplugGroup: String? {
            if case .sparkplugB(let g, _) = format { return g }
            return nil
        }
    }

    /// The field mapping of a `json` gateway: dotted field paths within each reading.
    public struct Mapping: Sendable, Equatable {
        public enum TimeFormat: String, Sendable, Equatable, CaseIterable {
            case epochMilliseconds = "epoch_ms", epochSeconds = "epoch_s", rfc3339
        }

        /// A value `good:` lists: text, number or boolean, compared by JSON type and value.
        public enum Scalar: Sendable, Equatable {
            case string(String), number(Double), bool(Bool)
        }

        /// `readings:` the field holding the array of readings; nil: the payload is one reading.
        public var readings: [String]?
        /// `tag:` the field holding the tag; nil: `"{topic}"`, the message's topic is the tag.
        public var tag: [String]?
        public var value: [String]
        public var time: [String]
        public var timeFormat: TimeFormat
        /// `quality:` the field holding the gateway's quality, and the values of it that mean good.
        public var quality: [String]?
        public var good: [Scalar]
    }

    /// `sparkplug:` of an equipment: its edge node and, for device metrics, its device.
    public struct SparkplugSource: Sendable, Equatable {
        /// The group of the plant's `sparkplug-b` gateway (`group:` when the plant has several).
        public var group: String
        public var edge: String
        public var device: String?
    }
}

extension Validator {
    /// `plants[].gateways`: each entry's format and filter; a filter MQTT would refuse, or a
    /// Sparkplug id with `/`, `+` or `#`, is an error at its line.
    mutating func gateways(_ node: Node?, at path: String) -> [MeltWatchConfig.Gateway] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else {
            error(node, "\(path) must be a list of gateway formats (format: sparkplug-b | kepware-iot | neuron | json)")
            return []
        }
        var out: [MeltWatchConfig.Gateway] = []
        for (k, item) in seq.enumerated() {
            let gpath = "\(path)[\(k)]"
            guard case .mapping(let raw) = item else {
                error(item, "\(gpath) must be a mapping with format: and its settings")
                continue
            }
            let formatNode = raw.first { $0.key.string == "format" }?.value
            guard let formatNode, let format = string(formatNode, at: "\(gpath).format") else {
                error(item, "\(gpath).format is required: sparkplug-b, kepware-iot, neuron or json")
                continue
            }
            switch format {
            case "sparkplug-b":
                guard let m = mapping(item, at: gpath, allowed: ["format", "group_id", "reorder_timeout_ms"]),
                      let group = requiredString(m, "group_id", at: gpath, parent: item) else { continue }
                guard Self.isSparkplugID(group) else {
                    error(m["group_id"], "\(gpath).group_id '\(group)' must be a Sparkplug id: not empty, without '/', '+' or '#'")
                    continue
                }
                let reorder = integer(m["reorder_timeout_ms"], at: "\(gpath).reorder_timeout_ms", default: 2000, range: 100...60_000, unit: "ms")
                out.append(.init(format: .sparkplugB(groupID: group, reorderTimeoutMilliseconds: reorder), filter: "spBv1.0/\(group)/#"))
            case "kepware-iot", "neuron":
                guard let m = mapping(item, at: gpath, allowed: ["format", "topic"]),
                      let filter = self.filter(m, at: gpath, parent: item) else { continue }
                out.append(.init(format: format == "neuron" ? .neuron : .kepwareIoT, filter: filter))
            case "json":
                let keys = ["format", "topic", "readings", "tag", "value", "time", "time_format", "quality", "good"]
                guard let m = mapping(item, at: gpath, allowed: keys) else { continue }
                let filter = self.filter(m, at: gpath, parent: item)
                let mapping = self.jsonMapping(m, at: gpath, parent: item)
                guard let filter, let mapping else { continue }
                out.append(.init(format: .json(mapping), filter: filter))
            default:
                error(formatNode, "\(gpath).format '\(format)' is unknown; allowed: sparkplug-b, kepware-iot, neuron, json")
            }
        }
        return out
    }

    /// `topic:` of a JSON gateway: a valid MQTT filter, wildcards allowed.
    private mutating func filter(_ m: [String: Node], at path: String, parent: Node) -> String? {
        guard let text = requiredString(m, "topic", at: path, parent: parent) else { return nil }
        guard TopicFilter(text) != nil else {
            error(m["topic"], "\(path).topic '\(text)' is not an MQTT topic filter ('#' only as the whole last level, '+' as a whole level, not starting with $)")
            return nil
        }
        return text
    }

    /// The field mapping of a `json` gateway.
    private mutating func jsonMapping(_ m: [String: Node], at path: String, parent: Node) -> MeltWatchConfig.Mapping? {
        let readings = fieldPath(m["readings"], at: "\(path).readings")
        var tag: [String]?
        if let tagText = requiredString(m, "tag", at: path, parent: parent), tagText != "{topic}" {
            tag = fieldPath(m["tag"], at: "\(path).tag")
            if tag == nil { return nil }
        }
        guard m["value"] != nil else { error(parent, "\(path).value is required: the field holding the reading's value"); return nil }
        guard m["time"] != nil else { error(parent, "\(path).time is required: the field holding the reading's event time"); return nil }
        guard let value = fieldPath(m["value"], at: "\(path).value"), let time = fieldPath(m["time"], at: "\(path).time") else { return nil }
        var format = MeltWatchConfig.Mapping.TimeFormat.epochMilliseconds
        if let n = m["time_format"], let word = string(n, at: "\(path).time_format") {
            guard let f = MeltWatchConfig.Mapping.TimeFormat(rawValue: word) else {
                error(n, "\(path).time_format '\(word)' is unknown; allowed: epoch_ms, epoch_s, rfc3339")
                return nil
            }
            format = f
        }
        let quality = fieldPath(m["quality"], at: "\(path).quality")
        var good: [MeltWatchConfig.Mapping.Scalar] = []
        if let g = m["good"] {
            guard m["quality"] != nil else {
                error(g, "\(path).good lists the quality values that mean good; it needs quality: (the field holding the quality)")
                return nil
            }
            guard case .sequence(let items) = g, !items.isEmpty else {
                error(g, "\(path).good must be a list of the quality values that mean good")
                return nil
            }
            for item in items {
                guard case .scalar(let s) = item else {
                    error(item, "\(path).good: each value must be a text, a number or a boolean")
                    return nil
                }
                if s.style == .plain, let b = item.bool { good.append(.bool(b)) }
                else if s.style == .plain, let d = item.float ?? item.int.map(Double.init) { good.append(.number(d)) }
                else { good.append(.string(s.string)) }
            }
        } else if let q = m["quality"] {
            error(q, "\(path).quality needs good: the list of its values that mean good (anything else is bad)")
            return nil
        }
        return .init(readings: readings, tag: tag, value: value, time: time, timeFormat: format, quality: quality, good: good)
    }

    /// A dotted field path (`data.points`): words without empty parts.
    private mutating func fieldPath(_ node: Node?, at path: String) -> [String]? {
        guard let node, let text = string(node, at: path) else { return nil }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !text.isEmpty, !parts.contains(where: \.isEmpty), parts.count <= 16 else {
            error(node, "\(path) '\(text)' must be a dotted field path such as data.value (at most 16 parts, none empty)")
            return nil
        }
        return parts
    }

    /// `sparkplug: {edge, device, group}` of an equipment in a plant with these gateways.
    mutating func sparkplugSource(_ node: Node?, gateways: [MeltWatchConfig.Gateway], at path: String) -> MeltWatchConfig.SparkplugSource? {
        guard let node, let m = mapping(node, at: path, allowed: ["edge", "device", "group"]) else { return nil }
        guard let edge = requiredString(m, "edge", at: path, parent: node) else { return nil }
        let device = string(m["device"], at: "\(path).device")
        for (key, id) in [("edge", edge as String?), ("device", device)] {
            if let id, !Self.isSparkplugID(id) {
                error(m[key], "\(path).\(key) '\(id)' must be a Sparkplug id: not empty, without '/', '+' or '#'")
                return nil
            }
        }
        let groups = gateways.compactMap(\.sparkplugGroup)
        let group: String
        if let g = string(m["group"], at: "\(path).group") {
            guard groups.contains(g) else {
                error(m["group"], "\(path).group '\(g)' is not the group_id of a sparkplug-b gateway of this plant (\(groups.joined(separator: ", ")))")
                return nil
            }
            group = g
        } else if groups.count == 1 {
            group = groups[0]
        } else if groups.isEmpty {
            error(node, "\(path): this plant declares no sparkplug-b gateway (plants[].gateways: - format: sparkplug-b, group_id: …)")
            return nil
        } else {
            error(node, "\(path).group is required: this plant has several sparkplug-b gateways (\(groups.joined(separator: ", ")))")
            return nil
        }
        return .init(group: group, edge: edge, device: device)
    }

    /// A Sparkplug group, edge node or device id: a topic level, so no `/`, `+`, `#`.
    static func isSparkplugID(_ s: String) -> Bool {
        !s.isEmpty && !s.contains("/") && !s.contains("+") && !s.contains("#") && !s.contains("\0")
    }

    /// Checks across the gateways and signals: a tag bound twice, a tag in a plant without a
    /// format that reads tags, filters that claim the same messages, or claim MeltWatch's own topics.
    mutating func gatewayChecks(_ config: MeltWatchConfig, plantsNode: Node, dutyNode: Node) {
        var filters: [(TopicFilter, String)] = []
        for plant in config.plants {
            for g in plant.gateways {
                guard let f = TopicFilter(g.filter) else { continue }
                let owner = "plants.\(plant.id).gateways \(g.formatName) '\(g.filter)'"
                if let other = filters.first(where: { $0.0.overlaps(f) }) {
                    error(plantsNode, "\(owner) overlaps \(other.1): one message would belong to both")
                }
                filters.append((f, owner))
            }
        }
        if let prefix = config.duty.mqttTopicPrefix, let own = TopicFilter(prefix + "/#"),
           let clash = filters.first(where: { $0.0.overlaps(own) }) {
            error(dutyNode, "\(clash.1) overlaps duty.mqtt_topic_prefix '\(prefix)': MeltWatch would read its own alarms as readings")
        }
        if let host = config.sparkplugHostID, let state = TopicFilter("spBv1.0/STATE/\(host)"),
           let clash = filters.first(where: { $0.0.overlaps(state) && !$0.1.contains("sparkplug-b") }) {
            error(plantsNode, "\(clash.1) overlaps the Sparkplug STATE topic of sparkplug.host_id '\(host)'")
        }
        var ownTopics = config.signals.compactMap(\.topic) + config.equipmentTopics.map(\.topic)
        ownTopics.sort()
        for t in ownTopics {
            if let clash = filters.first(where: { $0.0.matches(t) }) {
                error(plantsNode, "\(clash.1) also matches '\(t)', a topic of MeltWatch's own JSON: give the signal a tag or another topic")
            }
        }
        var sparkplugMetrics: [String: String] = [:]
        var tags: [String: [String: String]] = [:]
        for s in config.signals {
            let owner = "\(s.plant)/\(s.equipment).\(s.role)"
            switch s.source {
            case .topic:
                break
            case .tag(let tag):
                let plant = config.plants.first { $0.id == s.plant }
                if plant?.gateways.contains(where: { $0.sparkplugGroup == nil }) != true {
                    error(plantsNode, "\(owner) is read by tag '\(tag)' but plant \(s.plant) declares no kepware-iot, neuron or json gateway")
                }
                if let other = tags[s.plant]?[tag] {
                    error(plantsNode, "tag '\(tag)' of plant \(s.plant) is bound by both \(other) and \(owner); a tag is one signal")
                }
                tags[s.plant, default: [:]][tag] = owner
            case .sparkplug(let g, let e, let d, let metric):
                let key = "\(g)/\(e)/\(d ?? "")/\(metric)"
                if let other = sparkplugMetrics[key] {
                    error(plantsNode, "Sparkplug metric '\(metric)' of \(e)\(d.map { "/" + $0 } ?? "") is bound by both \(other) and \(owner)")
                }
                sparkplugMetrics[key] = owner
            }
        }
    }
}
