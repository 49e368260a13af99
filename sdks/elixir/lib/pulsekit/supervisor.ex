defmodule PulseKit.Supervisor do
  @moduledoc """
  The SDK's supervision tree: a `Task.Supervisor` for deliveries and, once the SDK is
  configured, `PulseKit.Sender`. `PulseKit.init/1` replaces the sender here.
  """

  use Supervisor

  alias PulseKit.{Drops, Sender}

  @doc false
  def start_link(config), do: Supervisor.start_link(__MODULE__, config, name: __MODULE__)

  @impl true
  def init(config) do
    # Owned by the supervisor so it lives as long as the SDK: caches which modules are in-app.
    :ets.new(PulseKit.Stacktrace.in_app_cache_name(), [
      :set,
      :public,
      :named_table,
      read_concurrency: true
    ])

    # Recent crashes, so one crash logged by two processes is reported once.
    :ets.new(PulseKit.CrashLog.table_name(), [:set, :public, :named_table])

    :ets.new(PulseKit.SourceContext.table_name(), [
      :set,
      :public,
      :named_table,
      read_concurrency: true
    ])

    sender = if config, do: [{Sender, {config, Drops.new()}}], else: []

    Supervisor.init([{Task.Supervisor, name: PulseKit.TaskSupervisor} | sender],
      strategy: :one_for_one
    )
  end

  @doc "Starts a sender for `config`, replacing the running one (which is stopped first)."
  @spec replace_sender(PulseKit.Config.t()) :: :ok
  def replace_sender(config) do
    stop_sender()
    {:ok, _pid} = Supervisor.start_child(__MODULE__, {Sender, {config, Drops.new()}})
    :ok
  end

  @doc "Stops the running sender, if any."
  @spec stop_sender() :: :ok
  def stop_sender do
    _ = Supervisor.terminate_child(__MODULE__, Sender)
    _ = Supervisor.delete_child(__MODULE__, Sender)
    Sender.clear_runtime()
  end
end
