"""How thinghub calls a connector: a connector is its Lambda function ARN.

Modules (import from them directly; this package stays import-light because every local
handler worker process starts by importing it):

- `invoker`: ConnectorInvoker, the one entry point: retries, backoff, local or remote;
- `envelope`: the request envelope of spec 4.2;
- `responses`: ConnectorResponse, ConnectorError, reading a function's answer;
- `settings`: the ``[connectors]`` and ``[functions]`` config sections;
- `functions`: Lambda function names and ARNs, and which local handler serves one;
- `pool`: the pool of local handler worker processes;
- `worker`: the worker process itself (standard library only);
- `remote`: AWS Lambda ``Invoke`` through boto3.
"""
