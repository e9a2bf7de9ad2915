import ArgumentParser
import Foundation
import MeltWatchConfig
import MeltWatchCore
import MeltWatchMQTT

/// `meltwatch-sim`: publishes what plant gateways would (contract section 3) for the plants in a config.
@main
struct Simulator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meltwatch-sim",
        abstract: "Plant gateway simulator: publishes readings for the plants in a MeltWatch config, with scripted faults."
    )

    @Option(help: "Broker URL, mqtt://host:port.")
    var broker = "mqtt://127.0.0.1:1883"

    @Option(help: "The MeltWatch config whose plants, equipment and topics to simulate.")
    var config: String?

    @Option(help: "Scenario name (see --list-scenarios).")
    var scenario = "healthy"

    @Option(help: "Scans per second per equipment.")
    var rate: Double = 1

    @Option(help: "Simulated seconds to run (default: the scenario's length).")
    var duration: Double?

    @Option(help: "Noise seed, for repeatable runs.")
    var seed: UInt64 = 1

    @Option(help: "Simulated seconds per real second.")
    var speed: Double = 1

    @Flag(help: "List the scenarios and the alarms each must cause.")
    var listScenarios = false

    func validate() throws {
        guard rate > 0, rate <= 10_000 else { throw ValidationError("--rate must be in (0, 10000]") }
        guard speed > 0, speed <= 1000 else { throw ValidationError("--speed must be in (0, 1000]") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        if listScenarios {
            for s in Scenario.all {
                print("\(s.name): \(s.summary)")
                print("    expected alarms: \(s.expectedAlarms.isEmpty ? "none" : s.expectedAlarms.joined(separator: "; "))")
            }
            return
        }
        guard let config else { throw ValidationError("--config is required") }
        guard let scenario = Scenario.all.first(where: { $0.name == self.scenario }) else {
            throw ValidationError("unknown scenario '\(self.scenario)'; known: \(Scenario.all.map(\.name).joined(separator: ", "))")
        }
        guard let (host, port, _) = MeltWatchConfig.parseBrokerURL(broker) else {
            throw ValidationError("--broker '\(broker)' is not mqtt://host:port")
        }
        let cfg: MeltWatchConfig
        do {
            cfg = try ConfigLoader.load(path: config).config
        } catch {
            throw ValidationError("\(error)")
        }
        let publisher = try Publisher(address: BrokerAddress(host: host, port: port), clientID: "meltwatch-sim-\(getpid())")
        defer { publisher.close() }

        var rng = SplitMix64(seed: seed)
        let length = duration ?? scenario.duration
        let step = 1 / rate
        let start = Date()
        // Simulated time runs `speed` times faster than the wall clock. Anchor it so the run's last
        // timestamp is "now" when it ends: timestamps are never in the future (which a monitor
        // rightly rejects), like a gateway replaying its buffer.
        let simStart = Int64((start.timeIntervalSince1970 - length * (1 - 1 / speed)) * 1000)
        var announced = 0
        var sequence: Int64 = 0
        var published = 0
        log("scenario \(scenario.name): \(scenario.summary); \(cfg.allEquipment.count) equipment, \(rate)/s, speed ×\(speed)")
        var t = 0.0
        while t <= length {
            while announced < scenario.phases.count, scenario.phases[announced].at <= t {
                log(String(format: "t=%5.1fs  %@", t, scenario.phases[announced].text))
                announced += 1
            }
            let ts = simStart + Int64(t * 1000)
            for (plant, eq) in cfg.allEquipment {
                var values = HealthyPlant.values(template: eq.template.name, rng: &rng)
                var onDelay = 0.0
                if case .number(let d)? = eq.params["on_delay_s"] { onDelay = d }
                scenario.fault(FaultContext(template: eq.template.name, onDelaySeconds: onDelay), t, &values)
                sequence += 1
                published += try publish(plant: plant.id, equipment: eq, values: values, ts: ts, seq: sequence, via: publisher)
            }
            t += step
            // Pace by the real clock so a slow broker never compresses time further.
            let due = start.addingTimeInterval(t / speed)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
        if !publisher.waitUntilAcknowledged(timeoutMilliseconds: 10_000) {
            log("warning: \(publisher.outstanding) messages not acknowledged by the broker")
        }
        log("done: \(published) messages published")
    }

    /// Water-cooled elements publish one batch per scan (per-equipment topic); other equipment one
    /// message per signal (per-signal topics, honouring `signals.<role>.topic` overrides).
    private func publish(plant: String, equipment eq: MeltWatchConfig.Equipment, values: [String: SimValue], ts: Int64,
                         seq: Int64, via publisher: Publisher) throws -> Int {
        let roles = eq.template.roles.map(\.name).filter { values[$0] != nil }
        if eq.template.name == "steel.water-cooled-element" && eq.signals.isEmpty {
            let body = roles.map { "\"\($0)\":\(values[$0]!.json)" }.joined(separator: ",")
            try publisher.publish(topic: "plants/\(plant)/\(eq.id)", text: "{\"ts\":\(ts),\"seq\":\(seq),\"values\":{\(body)}}")
            return 1
        }
        for role in roles {
            let topic = eq.signals[role]?.topic ?? MeltWatchConfig.defaultTopic(plant: plant, equipment: eq.id, role: role)
            try publisher.publish(topic: topic, text: "{\"ts\":\(ts),\"v\":\(values[role]!.json),\"q\":\"good\",\"seq\":\(seq)}")
        }
        return roles.count
    }

    private func log(_ s: String) {
        FileHandle.standardError.write(Data(("meltwatch-sim: " + s + "\n").utf8))
    }
}

extension MosquittoError: LocalizedError {
    public var errorDescription: String? { description }
}
