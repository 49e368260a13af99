import pulsekit_sdk

pulsekit_sdk.init(dsn='__DSN__', environment='production', release='my-app@1.0.0')

# uncaught exceptions are reported from now on; or report them yourself:
try:
    1 / 0
except ZeroDivisionError as exc:
    pulsekit_sdk.capture_exception(exc)
pulsekit_sdk.capture_message('Hello from Python')
