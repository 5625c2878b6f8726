"""How to look around while the demo runs: the endpoint, the credentials, and ready-to-paste
AWS CLI and boto3 snippets."""

from __future__ import annotations

from rich.text import Text

from thinghub.demo.workspace import REGION
from thinghub.identities import DEFAULT_IDENTITY


def environment(endpoint: str) -> str:
    return (
        f"export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID={DEFAULT_IDENTITY.access_key} "
        f"AWS_SECRET_ACCESS_KEY={DEFAULT_IDENTITY.secret_key} AWS_DEFAULT_REGION={REGION}"
    )


def instructions(endpoint: str, acme_url: str, data_dir: str) -> Text:
    """The look-around panel's text."""
    text = Text()
    text.append("thinghub endpoint  ", style="bold")
    text.append(endpoint + "\n")
    text.append("credentials        ", style="bold")
    text.append(
        f"access key {DEFAULT_IDENTITY.access_key}, secret key {DEFAULT_IDENTITY.secret_key}, "
        f"region {REGION} (any region works; account {DEFAULT_IDENTITY.account_id})\n\n"
    )
    text.append("AWS CLI, in another terminal:\n", style="bold")
    text.append(f"  {environment(endpoint)}\n")
    text.append(
        f"  aws iot-managed-integrations list-managed-things --endpoint-url {endpoint}\n"
        "  aws iot-managed-integrations list-account-associations\n"
        "  aws iot-managed-integrations get-managed-thing-state --managed-thing-id <Id>\n"
        '  export AWS_DATA_PATH="$(thinghub models-path)"   # the IoT Events models\n'
        "  aws iotevents-data list-detectors --detector-model-name too-hot\n"
        "  aws iotevents-data describe-detector --detector-model-name device-heartbeat "
        "--key-value <Id>\n\n"
    )
    text.append("boto3:\n", style="bold")
    text.append(
        "  import boto3\n"
        f'  mi = boto3.client("iot-managed-integrations", endpoint_url="{endpoint}",\n'
        f'                    region_name="{REGION}", aws_access_key_id='
        f'"{DEFAULT_IDENTITY.access_key}",\n'
        f'                    aws_secret_access_key="{DEFAULT_IDENTITY.secret_key}")\n'
        '  for thing in mi.list_managed_things()["Items"]:\n'
        '      state = mi.get_managed_thing_state(ManagedThingId=thing["Id"])\n'
        '      print(thing["Name"], state["Endpoints"])\n\n'
    )
    text.append("the simulated Acme cloud  ", style="bold")
    text.append(f"{acme_url}  (move a device by hand:\n")
    text.append(
        f'  curl -X POST {acme_url}/admin/devices/acme-fan-001/state -d \'{{"mode": "low"}}\')\n'
    )
    text.append("files and logs  ", style="bold")
    text.append(data_dir)
    return text
