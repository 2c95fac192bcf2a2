"""Which Debian mirrors a machine's apt configuration names: pure functions of the files'
text, so that //tests/oci:apt_sources_test can check them during analysis."""

def deb822_mirrors(text):
    """The URIs of the deb822 stanzas (debian.sources) whose suites are not -security.

    Args:
      text: the content of a .sources file.
    Returns:
      A list of mirror URLs, in file order.
    """
    found = []
    for stanza in text.split("\n\n"):
        uris, suites, types = [], "", "deb"
        for line in stanza.split("\n"):
            if line.startswith("URIs:"):
                uris = [u for u in line[len("URIs:"):].replace("\t", " ").split(" ") if u]
            elif line.startswith("Suites:"):
                suites = line
            elif line.startswith("Types:"):
                types = line[len("Types:"):]
        if "security" not in suites and "deb" in types.replace("deb-src", "").split(" "):
            found.extend(uris)
    return found

def sources_list_mirrors(text):
    """The URIs of the one-line `deb` entries (sources.list) that are not -security.

    An entry may carry options in brackets before its URI (`deb [arch=amd64
    signed-by=/usr/share/keyrings/x.gpg] http://host/debian bookworm main`); they are
    skipped, however many words they span.

    Args:
      text: the content of a sources.list file.
    Returns:
      A list of mirror URLs, in file order.
    """
    found = []
    for line in text.split("\n"):
        words = [w for w in line.replace("\t", " ").split(" ") if w]
        if len(words) < 3 or words[0] != "deb" or "security" in line:
            continue
        uri = 1
        if words[1].startswith("["):
            uri = len(words)  # unclosed options: no URI
            for i in range(1, len(words)):
                if words[i].endswith("]"):
                    uri = i + 1
                    break
        if uri < len(words):
            found.append(words[uri])
    return found
