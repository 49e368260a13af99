# Compiled only when the host application has Plug (Phoenix brings it): the SDK itself has
# no dependencies, so without Plug this module does not exist.
if Code.ensure_loaded?(Plug) do
  defmodule PulseKit.Plug do
    @moduledoc """
    Reports exceptions raised while a request is handled, with its method and path.

    In a Phoenix endpoint, or any `Plug.Router`/`Plug.Builder` module, before `use Phoenix.Endpoint`
    or `use Plug.Router`:

        defmodule MyAppWeb.Endpoint do
          use PulseKit.Plug
          use Phoenix.Endpoint, otp_app: :my_app
          # …
        end

    The exception is reported and raised again, so Phoenix still renders its error page.
    Exceptions with a `plug_status` below 500 (no route, bad request…) are not reported.
    Tags set in the request process (`PulseKit.set_tags/1` in a plug or controller) are on
    the event.
    """

    @doc false
    defmacro __using__(_opts) do
      quote do
        @before_compile PulseKit.Plug
      end
    end

    @doc false
    defmacro __before_compile__(_env) do
      quote do
        defoverridable call: 2

        def call(conn, opts) do
          try do
            super(conn, opts)
          rescue
            exception ->
              PulseKit.Plug.report(conn, :error, exception, __STACKTRACE__)
              reraise exception, __STACKTRACE__
          catch
            kind, reason ->
              PulseKit.Plug.report(conn, kind, reason, __STACKTRACE__)
              :erlang.raise(kind, reason, __STACKTRACE__)
          end
        end
      end
    end

    @doc false
    # Plug.Router and Phoenix wrap what they rescue in Plug.Conn.WrapperError, with the conn
    # as it was at that point (path parameters included).
    def report(
          _conn,
          :error,
          %Plug.Conn.WrapperError{conn: conn, kind: kind, reason: reason, stack: stack},
          _stack
        ),
        do: report(conn, kind, reason, stack)

    def report(conn, kind, reason, stacktrace) do
      exception = Exception.normalize(kind, reason, stacktrace)

      # Registered as a crash: when the web server logs the same one, it is not sent again.
      if PulseKit.Request.report?(exception) and
           PulseKit.CrashLog.first_report?(reason, stacktrace) do
        fields = PulseKit.Request.fields(conn)

        PulseKit.capture_exception(exception,
          stacktrace: stacktrace,
          kind: kind,
          tags: fields.tags,
          metadata: fields.metadata
        )
      end

      :ok
    rescue
      _ -> :ok
    end
  end
end
