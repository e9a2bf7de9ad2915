import ArgumentParser
import Foundation
import MeltWatchConfig
import MeltWatchCore
import MeltWatchMQTT
import MeltWatchScenarios
import MeltWatchSparkplug

/// `meltwatch-sim --load N`: healthy readings for every equipment of the config, published at QoS 1
/// as fast as the broker takes them (libmosquitto's in-flight window, 1 024), for load and
/// throughput measurements. Per signal (one reading per message) or, with `--batch`, one per-scan
/// batch per equipment (all its roles in one message). Timestamps run forward from
/// `N / equipment` scans in the past, one scan per 10 ms per equipment, so every reading is new
/// and in order and none lies in the future.
struct LoadRun {
    let equipment: [SimEquipment]
    let messages: Int
    let batch: Bool
    let seed: UInt64
    /// Messages per second; nil publishes as fast as the broker takes them.
    var rate: Double? = nil

    /// Renders the messages (before the clock starts: the measurement is of publishing, not of JSON).
    func render(now: Int64) -> (messages: [GatewayMessage], readings: Int) {
        var rng = SplitMix64(seed: seed)
        var out: [GatewayMessage] = []
        out.reserveCapacity(messages)
        var readings = 0
        let perScan = batch ? equipment.count : equipment.reduce(0) { $0 + $1.roles.count }
        let scans = (messages + perScan - 1) / max(1, perScan)
        let origin = now - Int64(scans) * 10 - 1000
        var scan = 0
        var seq: Int64 = 0
        while out.count < messages {
            let ts = origin + Int64(scan) * 10
            for eq in equipment where out.count < messages {
                let values = HealthyPlant.values(template: eq.templateID, at: SimTime(milliseconds: Int64(scan) * 10), rng: &rng)
                let roles = eq.roles.filter { values[$0] != nil }
                seq += 1
                if batch {
                    let body = roles.map { "\"\($0)\":\(values[$0]!.json)" }.joined(separator: ",")
                    out.append(GatewayMessage(topic: "plants/\(eq.plant)/\(eq.id)", payload: "{\"ts\":\(ts),\"seq\":\(seq),\"values\":{\(body)}}"))
                    readings += roles.count
                } else {
                    for role in roles where out.count < messages {
                        out.append(GatewayMessage(topic: eq.topics[role]!, payload: "{\"ts\":\(ts),\"v\":\(values[role]!.json),\"seq\":\(seq)}"))
                        readings += 1
                    }
                }
            }
            scan += 1
        }
        return (out, readings)
    }

    /// Publishes everything and waits for every PUBACK; prints one JSON line with the figures.
    func run(publisher: Publisher) throws {
        let (all, readings) = render(now: Int64(Date().timeIntervalSince1970 * 1000))
        let start = ContinuousClock.now
        for (i, m) in all.enumerated() {
            if let rate, i % 64 == 0 {
                // Paced: message i leaves at start + i / rate.
                let due = start.advanced(by: .microseconds(Int64(Double(i) / rate * 1e6)))
                let wait = ContinuousClock.now.duration(to: due)
                if wait > .zero { Thread.sleep(forTimeInterval: Double(wait / .microseconds(1)) / 1e6) }
            }
            try publisher.publish(topic: m.topic, text: m.payload, qos: 1)
        }
        let acknowledged = publisher.waitUntilAcknowledged(timeoutMilliseconds: 600_000)
        let seconds = Double((ContinuousClock.now - start) / .microseconds(1)) / 1e6
        let bytes = all.reduce(0) { $0 + $1.payload.utf8.count }
        print("{\"messages\":\(all.count),\"readings\":\(readings),\"payload_bytes\":\(bytes),\"seconds\":\(seconds),"
            + "\"messages_per_s\":\(Double(all.count) / seconds),\"readings_per_s\":\(Double(readings) / seconds),"
            + "\"acknowledged\":\(acknowledged)}")
        if !acknowledged { throw ValidationError("\(publisher.outstanding) messages were not acknowledged by the broker") }
    }
}

/// `meltwatch-sim --probe K`: alarm-latency probes on the config's first CO detector. Alternately a
/// reading far above level 1 (raises `co-level-1` at once, `on_delay_s` 0) and one far below (clears
/// it), each stamped with the wall clock as it is published, so publish → webhook latency is the
/// receiver's clock minus the event's `event_time`.
struct ProbeRun {
    let equipment: [SimEquipment]
    let probes: Int
    let intervalMilliseconds: Int

    func run(publisher: Publisher) throws {
        guard let co = equipment.first(where: { $0.templateID == .coDetector }), let topic = co.topics["co"] else {
            throw ValidationError("--probe needs a steel.co-detector in the config")
        }
        for k in 0..<probes {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            try publisher.publish(topic: topic, text: "{\"ts\":\(now),\"v\":\(k % 2 == 0 ? 500 : 0),\"seq\":\(k)}", qos: 1)
            Thread.sleep(forTimeInterval: Double(intervalMilliseconds) / 1000)
        }
        _ = publisher.waitUntilAcknowledged(timeoutMilliseconds: 30_000)
        print("{\"probes\":\(probes),\"topic\":\"\(topic)\"}")
    }
}

/// `meltwatch-sim --load N --format sparkplug-b`: the same measurement for a Sparkplug B edge node.
/// Its births (one NBIRTH, a DBIRTH per device), then N DDATA messages, round robin over the
/// devices, each with every metric of its device by alias (50 with `scripts/bench-e2e.sh`'s
/// Sparkplug rig), published at QoS 1 as fast as the broker takes them.
struct SparkplugLoadRun {
    let config: MeltWatchConfig
    let messages: Int
    let seed: UInt64

    func run(publisher: Publisher) throws {
        // Every Sparkplug-bound signal, grouped by edge node and device, with its alias.
        var devices: [String: [(alias: UInt64, name: String)]] = [:]
        var group = "", edge = ""
        var alias: UInt64 = 0
        for s in config.signals {
            guard case .sparkplug(let g, let e, let d, let metric) = s.source, let d else { continue }
            (group, edge) = (g, e)
            alias += 1
            devices[d, default: []].append((alias, metric))
        }
        guard !devices.isEmpty else { throw ValidationError("--load --format sparkplug-b needs equipment with sparkplug: {edge, device} in the config") }
        let names = devices.keys.sorted()
        var rng = SplitMix64(seed: seed)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let origin = now - Int64(messages) - 1000
        var seq: UInt64 = 0
        func next() -> UInt64 { defer { seq = (seq + 1) % 256 }; return seq }
        let births: [(String, [UInt8])] = [(SparkplugMessageType.nodeBirth.topic(group: group, edge: edge),
                                            SparkplugPayloads.nodeBirth(timestamp: EventTime(milliseconds: origin), bdSeq: 0, metrics: [], seq: next()))]
            + names.map { d in
                (SparkplugMessageType.deviceBirth.topic(group: group, edge: edge, device: d),
                 SparkplugPayloads.deviceBirth(timestamp: EventTime(milliseconds: origin), seq: next(), metrics: devices[d]!.map {
                     SparkplugMetric(name: $0.name, alias: $0.alias, datatype: .double, value: .number(0))
                 }))
            }
        // Rendered before the clock starts: the measurement is of publishing and ingest, not of protobuf.
        var all: [(String, [UInt8])] = []
        all.reserveCapacity(messages)
        var readings = 0
        for i in 0..<messages {
            let d = names[i % names.count]
            let metrics = devices[d]!.map { SparkplugMetric(alias: $0.alias, datatype: .double, value: .number(20 + Double.random(in: 0..<1, using: &rng)), sendsDatatype: false) }
            readings += metrics.count
            all.append((SparkplugMessageType.deviceData.topic(group: group, edge: edge, device: d),
                        SparkplugPayloads.data(timestamp: EventTime(milliseconds: origin + Int64(i)), seq: next(), metrics: metrics)))
        }
        for (topic, payload) in births { try publisher.publish(topic: topic, payload: payload, qos: 1) }
        _ = publisher.waitUntilAcknowledged(timeoutMilliseconds: 30_000)
        let start = ContinuousClock.now
        for (topic, payload) in all { try publisher.publish(topic: topic, payload: payload, qos: 1) }
        let acknowledged = publisher.waitUntilAcknowledged(timeoutMilliseconds: 600_000)
        let seconds = Double((ContinuousClock.now - start) / .microseconds(1)) / 1e6
        let bytes = all.reduce(0) { $0 + $1.1.count }
        print("{\"messages\":\(all.count),\"births\":\(births.count),\"readings\":\(readings),\"payload_bytes\":\(bytes),\"seconds\":\(seconds),"
            + "\"messages_per_s\":\(Double(all.count) / seconds),\"readings_per_s\":\(Double(readings) / seconds),"
            + "\"acknowledged\":\(acknowledged)}")
        if !acknowledged { throw ValidationError("\(publisher.outstanding) messages were not acknowledged by the broker") }
    }
}
