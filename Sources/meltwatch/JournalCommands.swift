import ArgumentParser
import Foundation
import MeltWatchCore
import MeltWatchDaemon
import MeltWatchJournal
import MeltWatchReport

/// `TIME`: RFC 3339 (`2026-11-23T08:00:00+08:00`) or epoch milliseconds (contract §1).
struct TimeArgument: ExpressibleByArgument {
    var time: EventTime

    init?(argument: String) {
        guard let t = EventTime(parsing: argument) else { return nil }
        time = t
    }

    static var defaultValueDescription: String { "RFC 3339 or epoch milliseconds" }
}

/// Writes lines to a file or standard output.
final class LineSink {
    private let handle: FileHandle
    private var buffer = Data()

    init(path: String?) throws {
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                throw ValidationError("cannot write \(path)")
            }
            handle = h
        } else {
            handle = .standardOutput
        }
    }

    func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// `meltwatch replay --config FILE --journal DIR [--from TIME] [--to TIME] [--output FILE]`
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-evaluate a recorded journal with the same engine; print the alarm events (or, with --hazards, the hazard records' events) as JSON Lines."
    )

    @Option(name: .long, help: "The YAML configuration the journal was recorded with.")
    var config: String
    @Option(name: .long, help: "The journal directory.")
    var journal: String
    @Option(name: .long, help: "Print events caused at or after this time.")
    var from: TimeArgument?
    @Option(name: .long, help: "Print events caused at or before this time.")
    var to: TimeArgument?
    @Option(name: .long, help: "Write the events here instead of standard output.")
    var output: String?
    @Flag(name: .long, help: "Print the hazard records' events (meltwatch.hazard/1) instead of the alarm events.")
    var hazards = false

    func run() throws {
        let sink = try LineSink(path: output)
        let terminal = isatty(STDERR_FILENO) == 1
        let started = Date()
        do {
            let progress: ((Int) -> Void)? = terminal ? { n in FileHandle.standardError.write(Data("\r  replayed \(n) records".utf8)) } : nil
            let summary = hazards
                ? try Replay.hazards(configPath: config, journalDirectory: journal, from: from?.time, to: to?.time, progress: progress, write: sink.write)
                : try Replay.run(configPath: config, journalDirectory: journal, from: from?.time, to: to?.time, progress: progress, write: sink.write)
            sink.flush()
            if terminal { FileHandle.standardError.write(Data("\r".utf8)) }
            for m in summary.configMismatches {
                FileHandle.standardError.write(Data("warning: the daemon ran with another config at \(m); events will name --config's hash\n".utf8))
            }
            let seconds = Date().timeIntervalSince(started)
            FileHandle.standardError.write(Data(("replayed \(summary.records) records (\(summary.messages) messages), "
                + "\(summary.events) alarm events, \(summary.hazardEvents) hazard events in \(String(format: "%.2f", seconds)) s; "
                + "hazards opened: \(summary.hazardsOpened.isEmpty ? "none" : summary.hazardsOpened.joined(separator: " "))\n").utf8))
        } catch {
            sink.flush()
            FileHandle.standardError.write(Data("meltwatch replay: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `meltwatch journal verify|export`
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Check or export the journal.",
        subcommands: [Verify.self, Export.self]
    )

    /// `meltwatch journal verify DIR`
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every record's checksum; exit 1 naming the first bad offset.")

        @Argument(help: "The journal directory.")
        var directory: String

        func run() throws {
            do {
                let v = try JournalReader(directory: directory).verify()
                if let problem = v.problem {
                    print("\(problem)")
                    throw ExitCode(1)
                }
                print("\(directory): ok — \(v.segments) segment(s), \(v.records) records, \(v.bytes) bytes")
            } catch let e as JournalError {
                FileHandle.standardError.write(Data("meltwatch journal verify: \(e)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// `meltwatch journal export DIR [--from TIME] [--to TIME] [--format jsonl|csv]`
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every received message as recorded: recv_time, topic, payload (text, or base64 when not UTF-8)."
        )

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case jsonl, csv
        }

        @Argument(help: "The journal directory.")
        var directory: String
        @Option(name: .long, help: "Messages received at or after this time.")
        var from: TimeArgument?
        @Option(name: .long, help: "Messages received at or before this time.")
        var to: TimeArgument?
        @Option(name: .long, help: "jsonl or csv.")
        var format: Format = .jsonl

        func run() throws {
            let sink = try LineSink(path: nil)
            if format == .csv { sink.write("\u{FEFF}recv_time,topic,payload,payload_encoding") }
            do {
                try JournalReader(directory: directory).forEach(from: from?.time, to: to?.time) { _, record in
                    guard case .message(let m) = record else { return }
                    sink.write(JournalExport.line(m, format: format == .csv ? .csv : .jsonl))
                }
                sink.flush()
            } catch {
                sink.flush()
                FileHandle.standardError.write(Data("meltwatch journal export: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// `meltwatch report --config FILE --journal DIR [--from TIME] [--to TIME] --format html|csv|json --output PATH`
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The audit report for a plant and period: hazard ledger, alarm timelines with evidence, interlock latency, sensor availability, alarm load."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case html, csv, json
    }

    @Option(name: .long, help: "The YAML configuration the journal was recorded with.")
    var config: String
    @Option(name: .long, help: "The journal directory.")
    var journal: String
    @Option(name: .long, help: "Start of the period (default: the journal's first record).")
    var from: TimeArgument?
    @Option(name: .long, help: "End of the period (default: the journal's last record).")
    var to: TimeArgument?
    @Option(name: .long, help: "The plant's id; needed when the config has several plants.")
    var plant: String?
    @Option(name: .long, help: "html, csv (UTF-8 with BOM) or json.")
    var format: Format
    @Option(name: .long, help: "The file to write.")
    var output: String

    func run() throws {
        do {
            let now = EventTime(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
            let input = try AuditBuilder.input(configPath: config, journalDirectory: journal, plant: plant,
                                               from: from?.time, to: to?.time, generatedAt: now)
            let report = AuditReport(input)
            let text: String = switch format {
            case .html: report.html()
            case .csv: report.csv()
            case .json: report.json()
            }
            guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                throw ValidationError("cannot write \(output)")
            }
            FileHandle.standardError.write(Data(("\(output): \(format.rawValue) report for \(input.plantID), "
                + "\(input.from.rfc3339) – \(input.to.rfc3339): \(report.alarms.count) alarms, \(input.interlockOutcomes.count) interlock trips\n").utf8))
        } catch let e as ValidationError {
            throw e
        } catch {
            FileHandle.standardError.write(Data("meltwatch report: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
