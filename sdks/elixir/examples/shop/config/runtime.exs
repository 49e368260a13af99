import Config

# Without PULSEKIT_DSN the SDK stays off (the dsn is nil): handy in dev and test.
config :pulsekit,
  dsn: System.get_env("PULSEKIT_DSN"),
  environment: System.get_env("SHOP_ENV", "demo"),
  release: "shop@1.0.0",
  tags: %{service: "shop"},
  in_app_otp_apps: [:shop]
