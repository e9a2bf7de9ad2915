import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MeltWatchAlarms
import MeltWatchConfig
import MeltWatchCore
import MeltWatchDecode
import MeltWatchDuty
import MeltWatchJournal
import MeltWatchMQTT
import MeltWatchRing
import MeltWatchRules
import ServiceLifecycle

/// A startup failure with a message an operator can act on.
public struct DaemonError: Error, CustomStringConvertible {
    public var description: String
}

/// The composition root: config -> ingest thread -> ring -> engine thread -> alarm delivery, plus the
/// duty listener, run as one service group that stops gracefully on SIGTERM/SIGINT.
public enum Daemon {
    /// `sha256:<hex>` of the config file's bytes: every alarm event names the config that produced it.
    public static func configHash(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Runs the daemon in the foreground until SIGTERM/SIGINT; throws on configuration or startup errors.
    public static func run(configPath: String, logger: Logger) async throws {
        let (config, bytes) = try ConfigLoader.load(path: configPath)
        let hash = configHash(bytes)
        let signals = config.signals

        var topics = TopicTable()
        for s in signals { try topics.addSignal(topic: s.topic, signal: s.id) }
        for e in config.equipmentTopics { try topics.addEquipment(topic: e.topic, roles: e.roles) }
        let decoder = PayloadDecoder(topics: topics)

        var options = SubscriberOptions(
            address: BrokerAddress(host: config.broker.host, port: config.broker.port, tls: config.broker.tls),
            clientID: config.broker.clientID, topics: config.subscriptionTopics, qos: config.broker.qos
        )
        options.username = config.broker.username
        if let file = config.broker.passwordFile { options.password = try readSecret(file) }
        if let ca = config.broker.caFile {
            options.tls = TLSFiles(caFile: ca, certFile: config.broker.certFile, keyFile: config.broker.keyFile)
        }
        let session = try IngestSession(options: options)

        let endpoints = try config.duty.webhooks.map { w in
            WebhookEndpoint(url: w.url, secret: try w.secretFile.map { Array(try readSecret($0).utf8) })
        }
        let dispatcher = WebhookDispatcher(endpoints: endpoints, logger: logger)

        let journal = try openJournal(config.journal, configBytes: bytes, configHash: hash, logger: logger)
        var startupAlarms: [AlarmEnvelope] = []
        if let problem = journal.recovery.problem {
            startupAlarms.append(SystemAlarm.envelope(
                rule: "journal-integrity", configHash: hash,
                message: "日志完整性受损：\(problem)，已保留原文件并在新段继续记录 (journal damaged; kept as evidence, recording continues in a new segment)",
                cause: "\(problem)"
            ))
        }

        let counters = IngestCounters()
        let ring = SPSCRing<EngineInput>(capacity: 1 << 16)
        let engine = Engine(model: config.engineModel(configHash: hash))
        let control = LoopControl()
        let handler = IngestHandler(decoder: decoder, ring: ring, journal: journal, control: control, counters: counters, logger: logger,
                                    fsyncIntervalMilliseconds: Int64(config.journal.fsyncIntervalMilliseconds),
                                    retentionDays: config.journal.retentionDays)
        let pipeline = Pipeline(session: session, handler: handler, control: control, ring: ring, engine: engine, counters: counters,
                                logger: logger, emit: { dispatcher.submit($0) })
        for alarm in startupAlarms { dispatcher.submit(alarm) }

        let brokerURL = config.broker.url
        let topicCount = options.topics.count
        let duty = DutyServer.application(
            host: config.duty.listenHost, port: config.duty.listenPort,
            readiness: {
                Readiness(checks: [
                    ("broker", counters.brokerConnected.load(ordering: .relaxed), brokerURL),
                    ("subscriptions", counters.subscribed.load(ordering: .relaxed)
                        && counters.rejectedSubscriptions.load(ordering: .relaxed) == 0, "\(topicCount) topics"),
                    ("engine", counters.engineRunning.load(ordering: .relaxed), "engine thread"),
                    ("journal", counters.journalWritable.load(ordering: .relaxed), config.journal.dir),
                ])
            },
            logger: logger,
            onListening: { port in
                logger.info("duty listener ready", metadata: ["duty.listen": "\(config.duty.listenHost):\(port)"])
            }
        )

        logger.info("starting meltwatch", metadata: [
            "config.file": "\(configPath)", "config.hash": "\(hash)", "mqtt.broker": "\(brokerURL)",
            "mqtt.client_id": "\(config.broker.clientID)", "mqtt.topics": "\(topicCount)",
            "engine.equipment": "\(config.allEquipment.count)", "engine.signals": "\(signals.count)",
            "duty.webhooks": "\(endpoints.count)",
        ])
        // SIGHUP reload is not in this build; ignore it rather than let its default action kill the monitor.
        signal(SIGHUP, SIG_IGN)

        // Shutdown runs in reverse order: the pipeline stops and drains first, then the listener,
        // then the dispatcher delivers what it can within its drain timeout.
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: dispatcher),
                .init(service: duty),
                .init(service: pipeline, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
        logger.info("meltwatch stopped", metadata: ["webhook.pending": "\(dispatcher.pending)", "webhook.delivered": "\(dispatcher.delivered)"])
    }

    /// Opens the journal (recovering a torn tail), records the config in force, and applies retention.
    static func openJournal(_ settings: MeltWatchConfig.Journal, configBytes: [UInt8], configHash: String,
                            logger: Logger) throws -> JournalWriter {
        let now = EventTime(milliseconds: WallClock.milliseconds())
        do {
            let journal = try JournalWriter(directory: settings.dir, now: now)
            if let torn = journal.recovery.tornTail {
                logger.notice("journal: cut a torn tail left by a crash (those messages were never acknowledged)", metadata: [
                    "journal.segment": "\(torn.path)", "journal.offset": "\(torn.offset)", "journal.bytes": "\(torn.bytes)",
                    "journal.saved_to": "\(torn.savedTo)",
                ])
            }
            if let problem = journal.recovery.problem {
                logger.critical("journal integrity problem", metadata: ["journal.problem": "\(problem)"])
            }
            try journal.append(.config(time: now, hash: configHash, text: configBytes))
            try journal.commit(now: now)
            let cutoff = now.adding(milliseconds: -Int64(settings.retentionDays) * 86_400_000)
            for removed in try journal.removeSegments(before: cutoff) {
                logger.info("journal: retention removed a segment", metadata: ["journal.segment": "\(removed)"])
            }
            logger.info("journal open", metadata: ["journal.dir": "\(settings.dir)", "journal.records_in_last_segment": "\(journal.recovery.records)"])
            return journal
        } catch {
            throw DaemonError(description: "cannot open the journal in \(settings.dir): \(error)")
        }
    }

    /// Reads a one-line secret file, without its trailing newline.
    static func readSecret(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), var s = String(data: data, encoding: .utf8) else {
            throw DaemonError(description: "cannot read secret file \(path)")
        }
        while s.hasSuffix("\n") || s.hasSuffix("\r") { s.removeLast() }
        guard !s.isEmpty else { throw DaemonError(description: "secret file \(path) is empty") }
        return s
    }
}
