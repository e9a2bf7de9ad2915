import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchSparkplug

extension Daemon {
    /// The decoder for a configuration: MeltWatch's own JSON by exact topic (per signal and per
    /// equipment batch), then each plant's gateway formats by their topic filters (contract §3).
    static func decoder(for config: MeltWatchConfig) throws -> MessageDecoder {
        var topics = TopicTable()
        let signals = config.signals
        for s in signals { if let topic = s.topic { try topics.addSignal(topic: topic, signal: s.id) } }
        for e in config.equipmentTopics { try topics.addEquipment(topic: e.topic, roles: e.roles) }
        var routes: [MessageDecoder.Route] = []
        for plant in config.plants where !plant.gateways.isEmpty {
            // Tags are plant-wide for the formats that read them (kepware-iot, neuron, json).
            var tags = TagTable()
            for s in signals where s.plant == plant.id {
                if case .tag(let tag) = s.source { try tags.add(tag: tag, signal: s.id) }
            }
            for gateway in plant.gateways {
                guard let filter = TopicFilter(gateway.filter) else {
                    throw DaemonError(description: "plant \(plant.id): gateway filter '\(gateway.filter)' is not an MQTT filter")
                }
                let format: any GatewayFormat
                switch gateway.format {
                case .sparkplugB(let group, let reorder):
                    let bindings = signals.compactMap { s -> SparkplugBinding? in
                        guard s.plant == plant.id, case .sparkplug(let g, let edge, let device, let metric) = s.source, g == group else { return nil }
                        return SparkplugBinding(edge: edge, device: device, metric: metric, signal: s.id)
                    }
                    format = try SparkplugHost(groupID: group, bindings: bindings, reorderTimeoutMilliseconds: Int64(reorder))
                case .kepwareIoT:
                    format = KepwareIoTFormat(tags: tags)
                case .neuron:
                    format = NeuronFormat(tags: tags)
                case .json(let mapping):
                    format = MappedJSONFormat(mapping: JSONMapping(mapping), tags: tags)
                }
                routes.append(.init(filter: filter, format: format))
            }
        }
        return MessageDecoder(native: PayloadDecoder(topics: topics), routes: routes)
    }
}

extension JSONMapping {
    /// The decoder's form of a `json` gateway's configured mapping.
    init(_ m: MeltWatchConfig.Mapping) {
        let format: JSONMapping.TimeFormat = switch m.timeFormat {
        case .epochMilliseconds: .epochMilliseconds
        case .epochSeconds: .epochSeconds
        case .rfc3339: .rfc3339
        }
        let good: [JSONScalar] = m.good.map {
            switch $0 {
            case .string(let s): .string(s)
            case .number(let d): .number(d)
            case .bool(let b): .bool(b)
            }
        }
        self.init(readings: m.readings, tag: m.tag.map { .field($0) } ?? .topic, value: m.value, time: m.time, timeFormat: format,
                  quality: m.quality.map { QualityRule(field: $0, good: good) })
    }
}
