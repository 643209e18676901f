import CoreboxCore
import CoreboxSystem
import Logging

/// The `kvd` applet: etcd's command line, one member serving until SIGTERM.
public enum KVDApplet {
    public static func main(_ context: AppletContext) -> Int32 {
        let configuration: KVDConfiguration
        do {
            switch try KVDConfiguration.parse(arguments: context.arguments, environment: context.environment) {
            case .serve(let parsed): configuration = parsed
            case .version:
                Console.out("kvd Version: \(Corebox.version)\netcd API Version: \(MaintenanceService.version)\n")
                return 0
            case .help:
                Console.out(KVDConfiguration.usage)
                return 0
            }
        } catch {
            Console.error("\(error)\nTry 'kvd --help'.\n")
            return 2
        }
        let logger = Logger(label: "kvd")
        return Daemon.run(logger: logger) {
            let server = try await KVDServer.start(configuration)
            logger.info("serving", metadata: [
                "name": "\(configuration.name)", "data-dir": "\(configuration.dataDirectory)",
                "client-ports": "\(server.clientPorts.map(String.init).joined(separator: ","))",
            ])
            return { await server.stop() }
        }
    }
}
