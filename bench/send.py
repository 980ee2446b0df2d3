"""Sends N requests of one workload, one at a time, with the ids and tokens the load
driver would draw (a fixed seed): the same requests for every binary measured.
    python3 bench/send.py URL DATASET WORKLOAD N"""
import http.client, json, random, sys, urllib.parse

url, dataset_path, workload, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
dataset = json.load(open(dataset_path))
query = open(f"bench/workloads/{workload}.graphql").read()
rng = random.Random(14)
parsed = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
for _ in range(n):
    project = rng.randint(*dataset["projects"])
    token = rng.choice(dataset["student_tokens"])
    variables = {
        "q0": {},
        "q1": {"id": str(project)},
        "q2": {},
        "q3": {"id": str(project)},
        "q4": {"id": str(rng.randint(*dataset["courses"]))},
    }[workload]
    headers = {"content-type": "application/json", "accept": "application/graphql-response+json"}
    if workload != "q0":
        headers["authorization"] = f"Bearer {token}"
    conn.request("POST", parsed.path, json.dumps({"query": query, "variables": variables}), headers)
    response = conn.getresponse()
    body = json.loads(response.read())
    if response.status != 200 or body.get("errors"):
        sys.exit(f"{workload}: {response.status} {body}")
