"""The BlueMind document's Java examples, compiled as written and run against the gateway (issue 15).

The four extracts are read out of docs/spec/publisher-api-bluemind.md at test time; only the host (`WEBSITE`)
and the key the document tells its reader to replace (`API_KEY`) are changed. What the document leaves out
is supplied around them, never inside: the imports, a class per extract (each declares the same fields), a
`main` that calls the extract's method, and `StaticTools.getHttpClient(boolean)`, a helper of BlueMind's that
the page uses without showing. They compile against Debian's jars (Apache HttpClient 4.5, httpmime,
json-simple) with the JDK's `javac`, and open the files the document names (`/home/user/Images/...`,
`/home/user/Files/super_plugin.jar`): each run sees a `/home` of its own, a temporary folder bind-mounted in a
private mount namespace (`unshare`), so nothing is written to the machine's /home and runs never collide.
What the programs did is then checked through the API."""

import hashlib
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import requests

from api_client import expect
from seed import png_icon

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "spec" / "publisher-api-bluemind.md"
JARS = [Path("/usr/share/java") / name for name in
        ("httpclient.jar", "httpcore.jar", "httpmime.jar", "json-simple.jar", "commons-logging.jar")]
DOCUMENT_WEBSITE = 'private static String WEBSITE = "https://marketplace.blue-mind.net/";'
DOCUMENT_KEY = 'private static String API_KEY = "your_api_key";'

IMPORTS = """\
import java.io.File;
import java.io.IOException;
import org.apache.http.HttpResponse;
import org.apache.http.client.HttpClient;
import org.apache.http.client.ResponseHandler;
import org.apache.http.client.methods.HttpGet;
import org.apache.http.client.methods.HttpPost;
import org.apache.http.entity.ContentType;
import org.apache.http.entity.mime.MultipartEntityBuilder;
import org.apache.http.entity.mime.content.FileBody;
import org.apache.http.entity.mime.content.StringBody;
import org.apache.http.impl.client.BasicResponseHandler;
import org.json.simple.JSONObject;
"""

# BlueMind's helper, not shown by the page: a client that, with `true`, accepts any certificate (as the
# Python examples' verify=False does); plain http here, so it is an ordinary default client.
STATIC_TOOLS = """\
import javax.net.ssl.SSLContext;
import org.apache.http.client.HttpClient;
import org.apache.http.conn.ssl.NoopHostnameVerifier;
import org.apache.http.impl.client.HttpClients;
import org.apache.http.ssl.SSLContexts;

public final class StaticTools {
    public static HttpClient getHttpClient(boolean trustAll) {
        if (!trustAll) {
            return HttpClients.createDefault();
        }
        try {
            SSLContext ssl = SSLContexts.custom().loadTrustMaterial(null, (chain, authType) -> true).build();
            return HttpClients.custom().setSSLContext(ssl).setSSLHostnameVerifier(NoopHostnameVerifier.INSTANCE)
                    .build();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
"""


def java_extracts(text: str) -> dict[str, str]:
    """{heading: code} for each extract under "In Java": from its first line to the method's closing brace."""
    lines = text[text.index("\nIn Java\n"):].splitlines()
    extracts, index = {}, 0
    while index < len(lines):
        heading = lines[index].strip()
        if not re.fullmatch(r"(GET|POST) /addons/api/\S+", heading):
            index += 1
            continue
        index += 1
        while not lines[index].strip():
            index += 1
        code, depth, opened = [], 0, False
        while not (opened and depth == 0):
            line = lines[index]
            code.append(line)
            depth += line.count("{") - line.count("}")
            opened = opened or "{" in line
            index += 1
        extracts[heading] = "\n".join(code) + "\n"
    return extracts


def jar_package() -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nBundle-SymbolicName: super_plugin\n")
        archive.writestr("super_plugin/Plugin.class", b"\xca\xfe\xba\xbe super plugin")
    return raw.getvalue()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(32) + b"\xff\xd9"


def test_the_documents_java_examples_work_as_written(stack, publisher, tmp_path):
    text = DOCUMENT.read_text()
    extracts = java_extracts(text)
    assert list(extracts) == ["GET /addons/api/plugins", "GET /addons/api/plugin/id", "POST /addons/api/plugins",
                              "POST /addons/api/plugin_version"]
    for missing in [jar for jar in JARS if not jar.exists()]:
        raise AssertionError(f"{missing} is missing: run scripts/ensure_tools.sh java-clients")
    javac, unshare = shutil.which("javac"), shutil.which("unshare")
    assert javac and unshare, "javac (a JDK) and unshare (util-linux) are needed"

    # The files the document opens, in a /home of this run's own.
    home = tmp_path / "home"
    files = {"user/Images/thumbnail.jpg": JPEG, "user/Images/screenshot1.png": png_icon(71, 20),
             "user/Images/screenshot2.png": png_icon(72, 28), "user/Files/super_plugin.jar": jar_package()}
    for relative, content in files.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_bytes(content)

    # One class per extract, as written but for the host and the key.
    source = tmp_path / "src"
    source.mkdir()
    (source / "StaticTools.java").write_text(STATIC_TOOLS)
    classes = {}
    for number, (heading, code) in enumerate(extracts.items(), start=1):
        assert code.count(DOCUMENT_WEBSITE) == 1 and code.count(DOCUMENT_KEY) == 1, heading
        code = code.replace(DOCUMENT_WEBSITE, f'private static String WEBSITE = "{stack.gateway_url}/";')
        code = code.replace(DOCUMENT_KEY, f'private static String API_KEY = "{publisher.key}";')
        method, parameters = re.search(r"private static void (\w+)\(([^)]*)\)", code).groups()
        call = f"{method}(Integer.parseInt(args[0]));" if parameters == "int id" else f"{method}();"
        assert parameters in ("", "int id"), parameters
        name = f"Example{number}"
        (source / f"{name}.java").write_text(
            f"{IMPORTS}\npublic class {name} {{\n{code}\n"
            f"public static void main(String[] args) throws IOException {{\n{call}\n}}\n}}\n")
        classes[heading] = name
    classpath = ":".join(str(jar) for jar in JARS)
    build = tmp_path / "classes"
    compiled = subprocess.run([javac, "-d", str(build), "-cp", classpath, *map(str, sorted(source.glob("*.java")))],
                              capture_output=True, text=True, timeout=180)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr

    def run(heading: str, *args: str) -> str:
        # A private mount namespace (as an unprivileged user too: --map-root-user) where /home is ours.
        script = 'mount --bind "$1" /home && shift && exec "$@"'
        command = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(home),
                   "java", "-cp", f"{build}:{classpath}", classes[heading], *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    headers = {"api-key": publisher.key}

    printed = run("POST /addons/api/plugins")
    assert printed.strip() == "Status code : 201", printed
    [plugin] = [p for p in expect(requests.get(f"{stack.gateway_url}/addons/api/plugins/", headers=headers), 200)
                if p["name"] == "Super plugin"]
    assert isinstance(plugin["id"], int)
    assert (plugin["shortdesc"], plugin["description"], plugin["license"], plugin["installation_instructions"],
            plugin["home_url"]) == ("A short description", "A long description", "A license",
                                    "Several instructions", "http://www.blue-mind.net")
    assert plugin["thumbnail"] and len(plugin["screenshots"]) == 2 and plugin["status"] == "unpublished"
    assert requests.get(stack.gateway_url + plugin["thumbnail"], headers=headers).content == \
        files["user/Images/thumbnail.jpg"]
    assert [requests.get(stack.gateway_url + url, headers=headers).content for url in plugin["screenshots"]] == [
        files["user/Images/screenshot1.png"], files["user/Images/screenshot2.png"]]

    printed = run("POST /addons/api/plugin_version")
    assert printed.strip() == "Status code : 201", printed

    def contents(printed: str):
        status, _, body = printed.partition("\n")
        assert status == "Status code : 200" and body.startswith("Contents : "), printed
        return json.loads(body.removeprefix("Contents : "))

    listed = contents(run("GET /addons/api/plugins"))
    assert [p["id"] for p in listed] == [plugin["id"]] and listed[0]["current_version"] == "0.2"

    shown = contents(run("GET /addons/api/plugin/id", str(plugin["id"])))
    assert shown == listed[0]
    [version] = shown["versions"]
    assert (version["version"], version["target_bm_versions"], version["release_notes"]) == (
        "0.2", "3.x", "On vient de faire une nouvelle release")
    assert version["sha256"] == hashlib.sha256(files["user/Files/super_plugin.jar"]).hexdigest()
    assert shown["status"] == "published" and shown["current_version"] == "0.2"
    public = expect(requests.get(f"{stack.gateway_url}/api/marketplace/v1/plugins/{shown['plugin_id']}"), 200)
    assert public["data"]["displayName"] == "Super plugin" and public["data"]["compatibility"]["platform"] == ["3.x"]
