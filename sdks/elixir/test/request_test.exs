defmodule PulseKit.RequestTest do
  # PulseKit.Plug itself is compiled only with Plug, which cannot be installed here (no hex):
  # this covers the part of it that builds the event, from a map shaped like a Plug.Conn.
  use ExUnit.Case, async: true

  alias PulseKit.Request

  test "PulseKit.Plug is not compiled without Plug, so the SDK has no dependency on it" do
    refute Code.ensure_loaded?(Plug)
    refute Code.ensure_loaded?(PulseKit.Plug)
  end

  test "a request's method and path become tags, and the query string metadata" do
    conn = %{
      method: "POST",
      request_path: "/checkout/42",
      query_string: "coupon=A1",
      host: "shop.example"
    }

    assert Request.fields(conn) == %{
             tags: %{"http.method" => "POST", "http.path" => "/checkout/42"},
             metadata: %{
               "request" => %{
                 "method" => "POST",
                 "path" => "/checkout/42",
                 "query_string" => "coupon=A1"
               }
             }
           }
  end

  test "client errors (plug_status below 500) are not reported, server errors are" do
    refute Request.report?(%{__exception__: true, plug_status: 404})
    assert Request.report?(%{__exception__: true, plug_status: 500})
    assert Request.report?(%RuntimeError{message: "boom"})
  end
end
