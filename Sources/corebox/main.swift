import CoreboxCore
import CoreboxSystem
import Glibc
import Logging

let environment = ProcessEnvironment.current()
let invocation = Invocation(arguments: CommandLine.arguments, names: applets.names)

let logSettings: LogSettings
do {
    logSettings = try LogSettings(environment: environment)
} catch {
    Console.error("corebox: \(error)\n")
    exit(1)
}
LoggingSystem.bootstrap { label in
    CoreboxLogHandler(label: label, identifier: invocation.identifier, settings: logSettings)
}

exit(Multicall.run(invocation, table: applets, environment: environment))
