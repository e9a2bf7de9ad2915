import ArgumentParser
import Foundation
import MeltWatchConfig
import MeltWatchCore
import MeltWatchMQTT
import MeltWatchScenarios

/// `meltwatch-sim`: publishes what plant gateways would (contract section 3) for the plants in a config.
/// The scenarios, their faults and their expected alarms live in `MeltWatchScenarios`.
@main
struct Simulator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meltwatch-sim",
        abstract: "Plant gateway simulator: publishes readings for the plants in a MeltWatch config, with scripted faults."
    )

    @Option(help: "Broker URL, mqtt://host:port or mqtts://host:port.")
    var broker = "mqtt://127.0.0.1:1883"

    @Option(help: "Broker user name (a plant gateway's user is named after its plant id).")
    var username: String?

    @Option(name: .customLong("password-file"), help: "File holding the broker password (never a password on the command line).")
    var passwordFile: String?

    @Option(name: .customLong("ca-file"), help: "With mqtts://: the CA that signed the broker's certificate.")
    var caFile: String?

    @Option(name: .customLong("cert-file"), help: "With mqtts://: the gateway's client certificate, when the broker requires one.")
    var certFile: String?

    @Option(name: .customLong("key-file"), help: "With mqtts://: the client certificate's key.")
    var keyFile: String?

    @Option(help: "The MeltWatch config whose plants, equipment and topics to simulate.")
    var config: String?

    @Option(help: "Scenario name (see --list-scenarios).")
    var scenario = "healthy"

    @Option(name: .customLong("plant"), help: ArgumentHelp(
        "Publish only for this plant of the config (repeatable; default: every plant).",
        discussion: "One simulator per plant, like one gateway per plant: several can play different scenarios at once."
    ))
    var plants: [String] = []

    @Option(help: "Scans per second per equipment.")
    var rate: Double = 1

    @Option(help: "Simulated seconds to run (default: the scenario's length).")
    var duration: Double?

    @Option(help: "Noise seed, for repeatable runs.")
    var seed: UInt64 = 1

    @Option(help: "Simulated seconds per real second.")
    var speed: Double = 1

    @Option(name: .customLong("start-ms"), help: ArgumentHelp(
        "Event time of scenario time 0, in epoch milliseconds (default: chosen so the last timestamp is 'now' when the run ends).",
        discussion: "Every published ts is start + the scan's scenario time, so alarms can be checked to the millisecond. "
            + "Refused if some timestamp would lie in the future when published."
    ))
    var startMilliseconds: Int64?

    @Option(help: ArgumentHelp(
        "Load mode: publish N messages of healthy readings at QoS 1 as fast as the broker takes them, then print the figures as JSON.",
        discussion: "For throughput measurements (scripts/bench-e2e.sh). Ignores --scenario, --rate and --speed."
    ))
    var load: Int?

    @Flag(help: "With --load: one per-scan batch per equipment (all its roles in one message) instead of one message per reading.")
    var batch = false

    @Option(name: .customLong("load-rate"), help: "With --load: messages per second (default: as fast as the broker takes them).")
    var loadRate: Double?

    @Option(help: "Alarm-latency probes: K readings alternately raising and clearing co-level-1 on the config's first CO detector, stamped as published.")
    var probe: Int?

    @Option(name: .customLong("probe-interval-ms"), help: "With --probe: milliseconds between probes.")
    var probeIntervalMilliseconds = 50

    @Option(help: ArgumentHelp(
        "How the gateways publish: auto, per-scan, per-tag (by exception) or sparse (a poll every 2–5 s) (default: the scenario's own; see --list-scenarios).",
        discussion: "auto: every role every scan, water-cooled elements as per-scan batches, the rest per signal. "
            + "per-scan: one batch per equipment per scan. per-tag: one message per tag, by exception (deadband) and at least "
            + "every tag's period, booleans on change."
    ))
    var publish: PublishMode?

    @Option(help: ArgumentHelp(
        "The gateway format the plants publish in: native (MeltWatch's own JSON, the default), sparkplug-b, kepware-iot, neuron or json (through the plant's json gateway's field mapping).",
        discussion: "Each signal goes out as the config binds it: by tag on the plant's kepware-iot, neuron or json gateway, as a "
            + "metric of its equipment's Sparkplug edge node (one MQTT connection per edge node, NDEATH as its will, births, "
            + "seq, rebirth on NCMD, store-and-forward while the Primary Host's STATE is offline), or on its own topic."
    ))
    var format: SimFormat = .native

    @Option(name: .customLong("ground-truth"), help: "Write the alarms this run must cause (JSON, with absolute event times) to this file.")
    var groundTruth: String?

    @Flag(help: "List the scenarios, the alarms each must cause (at --rate) and the settings each needs.")
    var listScenarios = false

    @Flag(help: "With --list-scenarios: the ground truth of every scenario as JSON Lines (the format of --ground-truth).")
    var json = false

    @Flag(help: "Print the plants: section of a config for which --scenario's expected alarms hold, and exit.")
    var printPlants = false

    func validate() throws {
        guard rate > 0, rate <= 10_000 else { throw ValidationError("--rate must be in (0, 10000]") }
        guard speed > 0, speed <= 1000 else { throw ValidationError("--speed must be in (0, 1000]") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if let load, load <= 0 || load > 50_000_000 { throw ValidationError("--load must be in 1…50000000") }
        if batch, load == nil { throw ValidationError("--batch needs --load") }
        if let loadRate, loadRate <= 0 || load == nil { throw ValidationError("--load-rate needs --load and must be positive") }
        if let probe, probe <= 0 || load != nil { throw ValidationError("--probe must be positive and cannot be combined with --load") }
        if json, !listScenarios { throw ValidationError("--json needs --list-scenarios") }
    }

    func run() throws {
        if listScenarios {
            if json { print(GroundTruth.library(rate: rate), terminator: "") } else { list() }
            return
        }
        if load != nil || probe != nil {
            guard let config else { throw ValidationError("--config is required") }
            let cfg: MeltWatchConfig
            do { cfg = try ConfigLoader.load(path: config).config } catch { throw ValidationError("\(error)") }
            let publisher = try connect(clientID: "meltwatch-sim-load-\(getpid())")
            defer { publisher.close() }
            if let probe {
                try ProbeRun(equipment: try selected(SimEquipment.all(in: cfg)), probes: probe, intervalMilliseconds: probeIntervalMilliseconds).run(publisher: publisher)
            } else if let load, format == .sparkplugB {
                try SparkplugLoadRun(config: cfg, messages: load, seed: seed).run(publisher: publisher)
            } else if let load {
                try LoadRun(equipment: try selected(SimEquipment.all(in: cfg)), messages: load, batch: batch, seed: seed, rate: loadRate).run(publisher: publisher)
            }
            return
        }
        guard let scenario = Scenario.named(self.scenario) else {
            throw ValidationError("unknown scenario '\(self.scenario)'; known: \(Scenario.all.map(\.name).joined(separator: ", "))")
        }
        if printPlants {
            print("plants:\n" + scenario.rig.plantYAML(format: Rig.Format(rawValue: format.rawValue) ?? .native), terminator: "")
            return
        }
        guard let config else { throw ValidationError("--config is required") }
        let cfg: MeltWatchConfig
        do {
            cfg = try ConfigLoader.load(path: config).config
        } catch {
            throw ValidationError("\(error)")
        }
        let equipment = try selected(SimEquipment.all(in: cfg))
        for problem in ScenarioPlayer.rigMismatches(scenario, equipment: equipment) {
            log("warning: \(problem): the expected alarms listed for \(scenario.name) may not hold (see --print-plants)")
        }

        let length = duration ?? scenario.duration
        let start = Date()
        let now = Int64(start.timeIntervalSince1970 * 1000)
        // Simulated time runs `speed` times faster than the wall clock. By default it is anchored so
        // the run's last timestamp is "now" when it ends: timestamps are never in the future (which a
        // monitor rightly rejects), like a gateway replaying its buffer.
        let latestOrigin = now - Int64((max(0, length * (1 - 1 / speed)) * 1000).rounded(.up))
        let origin = startMilliseconds ?? latestOrigin
        if origin > latestOrigin {
            throw ValidationError("--start-ms \(origin) would publish timestamps up to \(origin - latestOrigin) ms in the future "
                + "at --speed \(speed) over \(length) s; use at most \(latestOrigin)")
        }
        var player = ScenarioPlayer(scenario: scenario, equipment: equipment, rate: rate, seed: seed,
                                    originMilliseconds: origin, duration: length, publish: publish)
        if let groundTruth {
            let truth = GroundTruth.json(scenario, rate: rate, publish: player.publish, origin: origin, seed: seed, duration: length)
            do {
                try (truth + "\n").write(toFile: groundTruth, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write --ground-truth \(groundTruth): \(error.localizedDescription)")
            }
        }
        let publisher = try connect(clientID: "meltwatch-sim-\(getpid())")
        defer { publisher.close() }
        let gateway = try format == .native ? nil : FormatGateway(
            format: format, config: cfg, equipment: equipment, publisher: publisher,
            connect: { id, will in try connect(clientID: id, will: will) }, log: log
        )

        log("scenario \(scenario.name): \(scenario.summary); \(equipment.count) equipment, \(rate)/s, speed ×\(speed), "
            + "publishing \(player.publish.rawValue) as \(format.rawValue)")
        log("time origin: t=0 is ts \(origin) (\(EventTime(milliseconds: origin).rfc3339))")
        var announced = 0
        var published = 0
        var processPhases: [String: String] = [:]
        while let (t, messages) = player.nextScan() {
            while announced < scenario.phases.count, t >= scenario.phases[announced].at {
                log("\(t)  \(scenario.phases[announced].text)")
                announced += 1
            }
            for (id, phase) in player.modelPhases(at: t) where processPhases[id] != phase {
                if processPhases[id] != nil { log("\(t)  \(id): \(phase)") }
                processPhases[id] = phase
            }
            // Pace by the real clock so a slow broker never compresses time further.
            let wait = start.addingTimeInterval(t.seconds / speed).timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            if let gateway {
                try gateway.publish(player.samples)
                published += player.samples.count
            } else {
                for m in messages { try publisher.publish(topic: m.topic, text: m.payload) }
                published += messages.count
            }
        }
        if !publisher.waitUntilAcknowledged(timeoutMilliseconds: 10_000) {
            log("warning: \(publisher.outstanding) messages not acknowledged by the broker")
        }
        gateway?.finish()
        log("done: \(published) \(gateway == nil ? "messages" : "values") published")
    }

    /// A connected publisher for `--broker`, with the credentials and TLS files given.
    private func connect(clientID: String, will: MQTTMessage? = nil) throws -> Publisher {
        guard let (host, port, tls) = MeltWatchConfig.parseBrokerURL(broker) else {
            throw ValidationError("--broker '\(broker)' is not mqtt://host:port or mqtts://host:port")
        }
        if tls, caFile == nil { throw ValidationError("--broker \(broker) is mqtts:// but --ca-file is not given") }
        if !tls, caFile != nil || certFile != nil { throw ValidationError("--ca-file and --cert-file need an mqtts:// broker") }
        if (certFile == nil) != (keyFile == nil) { throw ValidationError("--cert-file and --key-file go together") }
        var password: String?
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ValidationError("cannot read --password-file \(passwordFile)")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        do {
            return try Publisher(address: BrokerAddress(host: host, port: port, tls: tls), clientID: clientID, username: username,
                                 password: password, tls: caFile.map { TLSFiles(caFile: $0, certFile: certFile, keyFile: keyFile) },
                                 will: will, keepAliveSeconds: will == nil ? 30 : 5)
        } catch {
            throw ValidationError("cannot connect to \(broker): \(error)")
        }
    }

    /// The equipment of the plants named by `--plant` (all when none is named).
    private func selected(_ equipment: [SimEquipment]) throws -> [SimEquipment] {
        guard !plants.isEmpty else { return equipment }
        let known = Set(equipment.map(\.plant))
        for p in plants where !known.contains(p) {
            throw ValidationError("--plant \(p): no such plant in the config (plants: \(known.sorted().joined(separator: ", ")))")
        }
        return equipment.filter { plants.contains($0.plant) }
    }

    private func list() {
        for s in Scenario.all {
            let expected = s.expectedAlarms(rate: rate)
            print("\(s.name): \(s.summary)")
            print("    expected alarms: \(expected.isEmpty ? "none" : expected.map(\.description).joined(separator: "; "))")
            if !s.rig.changes.isEmpty { print("    needs: \(s.rig.changes.joined(separator: "; "))") }
            if case .models = s.baseline { print("    plant models, publishing \(s.publish.rawValue); its plant: --print-plants") }
            for t in s.tolerated { print("    tolerates: \(t.rule) on \(t.template) (\(t.reason))") }
        }
        print("(times are scenario time at --rate \(rate == rate.rounded() ? String(Int(rate)) : String(rate)); a scenario's plant: --print-plants --scenario NAME)")
    }

    private func log(_ s: String) {
        FileHandle.standardError.write(Data(("meltwatch-sim: " + s + "\n").utf8))
    }
}

extension PublishMode: ExpressibleByArgument {}

extension MosquittoError: LocalizedError {
    public var errorDescription: String? { description }
}
