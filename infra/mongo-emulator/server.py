#!/usr/bin/python3
"""A small MongoDB wire-protocol front end over mongomock, for tests where no real MongoDB can run.

It speaks OP_MSG (and OP_QUERY for the legacy handshake) on a TCP port and executes the commands the
project's MongoDB.Driver code sends - CRUD, findAndModify, aggregate, count, distinct, indexes (unique
ones enforced), cursors - against an in-memory mongomock client. No transactions, change streams or
$text: tests that need them run only against a real server.

With --journal FILE every write command that succeeded is appended to FILE (BSON, flushed before the reply) and
replayed at start, so the server can be killed and restarted, as a real mongod can, without losing what it
acknowledged. A torn last entry (a kill mid-write) is dropped.

Usage: server.py [--host 127.0.0.1] [--port 27017] [--port-file FILE] [--journal FILE]
"""
import argparse
import datetime
import itertools
import os
import socketserver
import struct
import sys
import threading

import bson
import mongomock
from bson.codec_options import CodecOptions
from bson.binary import UuidRepresentation
from pymongo.errors import DuplicateKeyError, OperationFailure

OPTS = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
CLIENT = mongomock.MongoClient()
LOCK = threading.RLock()
CURSORS = {}
CURSOR_IDS = itertools.count(1)
REQUEST_IDS = itertools.count(1)
CONNECTION_IDS = itertools.count(1)
IGNORED = {"$db", "lsid", "$clusterTime", "$readPreference", "txnNumber", "autocommit", "startTransaction",
           "writeConcern", "readConcern", "apiVersion", "apiStrict", "apiDeprecationErrors", "comment", "maxTimeMS"}


class CommandError(Exception):
    def __init__(self, code, name, message):
        super().__init__(message)
        self.code, self.name = code, name


def hello(_db, _cmd, conn_id):
    return {"ismaster": True, "isWritablePrimary": True, "helloOk": True, "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
            "localTime": datetime.datetime.now(datetime.timezone.utc), "minWireVersion": 0, "maxWireVersion": 17,
            "readOnly": False, "connectionId": conn_id}


def sort_spec(sort):
    return [(k, int(v)) for k, v in sort.items()] if sort else None


def open_cursor(ns, docs, batch_size, single_batch=False):
    docs = list(docs)
    size = batch_size if batch_size and batch_size > 0 else 101
    first, rest = docs[:size], docs[size:]
    cursor_id = 0
    if rest and not single_batch:
        cursor_id = next(CURSOR_IDS)
        CURSORS[cursor_id] = (ns, rest)
    return {"cursor": {"firstBatch": first, "id": bson.int64.Int64(cursor_id), "ns": ns}}


def cmd_find(db, cmd):
    coll = db[cmd["find"]]
    cursor = coll.find(cmd.get("filter") or {}, cmd.get("projection") or None)
    if cmd.get("sort"):
        cursor = cursor.sort(sort_spec(cmd["sort"]))
    if cmd.get("skip"):
        cursor = cursor.skip(int(cmd["skip"]))
    limit = int(cmd.get("limit") or 0)
    if limit:
        cursor = cursor.limit(abs(limit))
    single = cmd.get("singleBatch", False) or limit < 0
    batch = int(cmd.get("batchSize") or 0)
    if limit and (not batch or limit < batch):
        batch = abs(limit)
    return open_cursor(f"{db.name}.{cmd['find']}", cursor, batch, single)


def cmd_get_more(db, cmd):
    cursor_id = int(cmd["getMore"])
    if cursor_id not in CURSORS:
        raise CommandError(43, "CursorNotFound", f"cursor id {cursor_id} not found")
    ns, docs = CURSORS.pop(cursor_id)
    size = int(cmd.get("batchSize") or 0) or len(docs)
    batch, rest = docs[:size], docs[size:]
    next_id = 0
    if rest:
        next_id = cursor_id
        CURSORS[cursor_id] = (ns, rest)
    return {"cursor": {"nextBatch": batch, "id": bson.int64.Int64(next_id), "ns": ns}}


def cmd_kill_cursors(_db, cmd):
    killed = [c for c in cmd.get("cursors", []) if CURSORS.pop(int(c), None) is not None]
    return {"cursorsKilled": killed, "cursorsNotFound": [], "cursorsAlive": [], "cursorsUnknown": []}


def write_error(index, e):
    code = getattr(e, "code", None) or (11000 if isinstance(e, DuplicateKeyError) else 2)
    return {"index": index, "code": code, "errmsg": str(e)}


def cmd_insert(db, cmd):
    coll = db[cmd["insert"]]
    ordered = cmd.get("ordered", True)
    n, errors = 0, []
    for i, doc in enumerate(cmd.get("documents", [])):
        try:
            coll.insert_one(doc)
            n += 1
        except (DuplicateKeyError, OperationFailure) as e:
            errors.append(write_error(i, e))
            if ordered:
                break
    reply = {"n": n}
    if errors:
        reply["writeErrors"] = errors
    return reply


def is_replacement(update):
    return isinstance(update, dict) and not any(k.startswith("$") for k in update)


def cmd_update(db, cmd):
    coll = db[cmd["update"]]
    ordered = cmd.get("ordered", True)
    n = modified = 0
    upserted, errors = [], []
    for i, spec in enumerate(cmd.get("updates", [])):
        q, u, upsert = spec.get("q") or {}, spec.get("u"), spec.get("upsert", False)
        try:
            if isinstance(u, list):
                raise CommandError(2, "BadValue", "update pipelines are not supported by the emulator")
            if is_replacement(u):
                result = coll.replace_one(q, u, upsert=upsert)
            elif spec.get("multi"):
                result = coll.update_many(q, u, upsert=upsert, array_filters=spec.get("arrayFilters"))
            else:
                result = coll.update_one(q, u, upsert=upsert, array_filters=spec.get("arrayFilters"))
            n += result.matched_count
            modified += result.modified_count
            if result.upserted_id is not None:
                n += 1
                upserted.append({"index": i, "_id": result.upserted_id})
        except (DuplicateKeyError, OperationFailure, CommandError) as e:
            errors.append(write_error(i, e))
            if ordered:
                break
    reply = {"n": n, "nModified": modified}
    if upserted:
        reply["upserted"] = upserted
    if errors:
        reply["writeErrors"] = errors
    return reply


def cmd_delete(db, cmd):
    coll = db[cmd["delete"]]
    n = 0
    for spec in cmd.get("deletes", []):
        result = coll.delete_one(spec.get("q") or {}) if spec.get("limit", 0) == 1 else coll.delete_many(spec.get("q") or {})
        n += result.deleted_count
    return {"n": n}


def cmd_find_and_modify(db, cmd):
    coll = db[cmd["findAndModify"]]
    query, sort = cmd.get("query") or {}, sort_spec(cmd.get("sort"))
    projection = cmd.get("fields") or None
    if cmd.get("remove"):
        value = coll.find_one_and_delete(query, projection=projection, sort=sort)
        return {"value": value, "lastErrorObject": {"n": 1 if value else 0}}
    update, upsert = cmd.get("update"), cmd.get("upsert", False)
    after = mongomock.ReturnDocument.AFTER if cmd.get("new") else mongomock.ReturnDocument.BEFORE
    existed = coll.find_one(query) is not None
    try:
        if is_replacement(update):
            value = coll.find_one_and_replace(query, update, projection=projection, sort=sort, upsert=upsert, return_document=after)
        else:
            value = coll.find_one_and_update(query, update, projection=projection, sort=sort, upsert=upsert, return_document=after)
    except DuplicateKeyError as e:
        raise CommandError(11000, "DuplicateKey", str(e))
    leo = {"n": 1 if (existed or upsert) else 0, "updatedExisting": existed}
    if upsert and not existed:
        doc = coll.find_one(query) or {}
        leo["upserted"] = doc.get("_id")
    return {"value": value, "lastErrorObject": leo}


def cmd_aggregate(db, cmd):
    name = cmd["aggregate"]
    docs = list(db[name].aggregate(cmd.get("pipeline", [])))
    batch = int((cmd.get("cursor") or {}).get("batchSize") or 0)
    return open_cursor(f"{db.name}.{name}", docs, batch or 101)


def cmd_count(db, cmd):
    coll = db[cmd["count"]]
    n = coll.count_documents(cmd.get("query") or {}, skip=int(cmd.get("skip") or 0), **({"limit": int(cmd["limit"])} if cmd.get("limit") else {}))
    return {"n": n}


def cmd_distinct(db, cmd):
    return {"values": db[cmd["distinct"]].distinct(cmd["key"], cmd.get("query") or {})}


def cmd_create_indexes(db, cmd):
    coll = db[cmd["createIndexes"]]
    before = len(coll.index_information())
    for index in cmd.get("indexes", []):
        keys = [(k, v) for k, v in index["key"].items()]
        options = {k: v for k, v in index.items() if k in ("name", "unique", "sparse")}
        try:
            coll.create_index(keys, **options)
        except DuplicateKeyError as e:
            raise CommandError(11000, "DuplicateKey", str(e))
    return {"numIndexesBefore": before, "numIndexesAfter": len(coll.index_information()), "createdCollectionAutomatically": before == 0}


def cmd_list_indexes(db, cmd):
    name = cmd["listIndexes"]
    info = db[name].index_information()
    docs = [{"v": 2, "key": dict(v["key"]), "name": k, **({"unique": True} if v.get("unique") else {})} for k, v in info.items()]
    return open_cursor(f"{db.name}.{name}", docs, 1000)


def cmd_drop_indexes(db, cmd):
    coll = db[cmd["dropIndexes"]]
    coll.drop_indexes() if cmd.get("index") == "*" else coll.drop_index(cmd["index"])
    return {}


def cmd_list_collections(db, cmd):
    names = db.list_collection_names()
    docs = [{"name": n, "type": "collection", "options": {}, "info": {"readOnly": False}} for n in names]
    if cmd.get("filter", {}).get("name"):
        docs = [d for d in docs if d["name"] == cmd["filter"]["name"]]
    if cmd.get("nameOnly"):
        docs = [{"name": d["name"], "type": "collection"} for d in docs]
    return open_cursor(f"{db.name}.$cmd.listCollections", docs, 1000)


def cmd_create(db, cmd):
    if cmd["create"] not in db.list_collection_names():
        db.create_collection(cmd["create"])
    return {}


def cmd_drop(db, cmd):
    if cmd["drop"] not in db.list_collection_names():
        raise CommandError(26, "NamespaceNotFound", "ns not found")
    db.drop_collection(cmd["drop"])
    return {"ns": f"{db.name}.{cmd['drop']}", "nIndexesWas": 1}


def cmd_drop_database(db, _cmd):
    CLIENT.drop_database(db.name)
    return {"dropped": db.name}


def cmd_list_databases(_db, _cmd):
    return {"databases": [{"name": n, "sizeOnDisk": 0, "empty": False} for n in CLIENT.list_database_names()], "totalSize": 0}


COMMANDS = {
    "find": cmd_find, "getMore": cmd_get_more, "killCursors": cmd_kill_cursors, "insert": cmd_insert,
    "update": cmd_update, "delete": cmd_delete, "findAndModify": cmd_find_and_modify, "findandmodify": cmd_find_and_modify,
    "aggregate": cmd_aggregate, "count": cmd_count, "distinct": cmd_distinct, "createIndexes": cmd_create_indexes,
    "listIndexes": cmd_list_indexes, "dropIndexes": cmd_drop_indexes, "listCollections": cmd_list_collections,
    "create": cmd_create, "drop": cmd_drop, "dropDatabase": cmd_drop_database, "listDatabases": cmd_list_databases,
    "ping": lambda db, c: {}, "endSessions": lambda db, c: {}, "getLastError": lambda db, c: {"err": None, "n": 0},
    "buildInfo": lambda db, c: {"version": "6.0.0", "versionArray": [6, 0, 0, 0], "maxBsonObjectSize": 16 * 1024 * 1024},
    "buildinfo": lambda db, c: {"version": "6.0.0", "versionArray": [6, 0, 0, 0]},
    "getParameter": lambda db, c: {}, "serverStatus": lambda db, c: {"host": "mongo-emulator", "version": "6.0.0"},
    "saslStart": None, "abortTransaction": None, "commitTransaction": None,
}


WRITES = {"insert", "update", "delete", "findAndModify", "findandmodify", "createIndexes", "dropIndexes", "create", "drop",
          "dropDatabase"}
JOURNAL = None


def journal(db_name, cmd):
    if JOURNAL is not None:
        JOURNAL.write(bson.encode({"db": db_name, "cmd": cmd}, codec_options=OPTS))
        JOURNAL.flush()


def replay(path):
    """Runs the journal's commands again; returns how many. A torn last entry is cut off the file."""
    count, good = 0, 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 4 <= len(data):
        size = struct.unpack_from("<i", data, pos)[0]
        if size < 5 or pos + size > len(data):
            break
        entry = bson.decode(data[pos:pos + size], codec_options=OPTS)
        handler = COMMANDS[next(iter(entry["cmd"]))]
        try:
            handler(CLIENT[entry["db"]], entry["cmd"])
        except (CommandError, OperationFailure, DuplicateKeyError):
            pass
        pos += size
        count, good = count + 1, pos
    if good < len(data):
        print(f"mongo-emulator: dropped a torn journal entry ({len(data) - good} bytes)", flush=True)
        with open(path, "r+b") as f:
            f.truncate(good)
    return count


def execute(db_name, cmd, conn_id):
    name = next(iter(cmd))
    if name in ("hello", "isMaster", "ismaster"):
        return {**hello(None, cmd, conn_id), "ok": 1.0}
    handler = COMMANDS.get(name)
    if handler is None:
        return {"ok": 0.0, "errmsg": f"command '{name}' is not supported by the MongoDB emulator", "code": 59, "codeName": "CommandNotFound"}
    try:
        with LOCK:
            command = {k: v for k, v in cmd.items() if k not in IGNORED}
            result = handler(CLIENT[db_name], command)
            if name in WRITES:
                journal(db_name, command)
        return {**result, "ok": 1.0}
    except CommandError as e:
        return {"ok": 0.0, "errmsg": str(e), "code": e.code, "codeName": e.name}
    except (OperationFailure, NotImplementedError, TypeError, ValueError, KeyError) as e:
        return {"ok": 0.0, "errmsg": f"{type(e).__name__}: {e}", "code": getattr(e, "code", None) or 2, "codeName": "BadValue"}


def read_cstring(data, pos):
    end = data.index(b"\x00", pos)
    return data[pos:end].decode(), end + 1


def parse_op_msg(body):
    flags = struct.unpack_from("<I", body, 0)[0]
    end = len(body) - (4 if flags & 1 else 0)
    pos, command, sequences = 4, {}, {}
    while pos < end:
        kind = body[pos]
        size = struct.unpack_from("<i", body, pos + 1)[0]
        if kind == 0:
            command = bson.decode(body[pos + 1:pos + 1 + size], codec_options=OPTS)
        else:
            ident, doc_pos = read_cstring(body, pos + 5)
            docs = sequences.setdefault(ident, [])
            while doc_pos < pos + 1 + size:
                doc_size = struct.unpack_from("<i", body, doc_pos)[0]
                docs.append(bson.decode(body[doc_pos:doc_pos + doc_size], codec_options=OPTS))
                doc_pos += doc_size
        pos += 1 + size
    for ident, docs in sequences.items():
        command.setdefault(ident, []).extend(docs)
    return flags, command


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        conn_id = next(CONNECTION_IDS)
        sock = self.request
        while True:
            header = self.read_exact(sock, 16)
            if header is None:
                return
            length, request_id, _, op = struct.unpack("<iiii", header)
            body = self.read_exact(sock, length - 16)
            if body is None:
                return
            if op == OP_MSG:
                flags, cmd = parse_op_msg(body)
                reply = execute(cmd.get("$db", "admin"), cmd, conn_id)
                if flags & 2:  # moreToCome: the client expects no answer
                    continue
                payload = struct.pack("<I", 0) + b"\x00" + bson.encode(reply, codec_options=OPTS)
                sock.sendall(struct.pack("<iiii", 16 + len(payload), next(REQUEST_IDS), request_id, OP_MSG) + payload)
            elif op == OP_QUERY:
                _, pos = read_cstring(body, 4)
                namespace = body[4:pos - 1].decode()
                pos += 8
                size = struct.unpack_from("<i", body, pos)[0]
                query = bson.decode(body[pos:pos + size], codec_options=OPTS)
                query = query.get("$query", query)
                reply = execute(namespace.split(".")[0], query, conn_id)
                doc = bson.encode(reply, codec_options=OPTS)
                payload = struct.pack("<iqii", 0, 0, 0, 1) + doc
                sock.sendall(struct.pack("<iiii", 16 + len(payload), next(REQUEST_IDS), request_id, OP_REPLY) + payload)
            else:
                return

    @staticmethod
    def read_exact(sock, n):
        chunks, remaining = [], n
        while remaining:
            chunk = sock.recv(remaining)
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27017)
    parser.add_argument("--port-file")
    parser.add_argument("--journal")
    args = parser.parse_args()
    global JOURNAL
    if args.journal:
        if os.path.exists(args.journal):
            print(f"mongo-emulator: replayed {replay(args.journal)} journalled writes", flush=True)
        JOURNAL = open(args.journal, "ab")
    with Server((args.host, args.port), Handler) as server:
        port = server.server_address[1]
        if args.port_file:
            tmp = args.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(port))
            os.replace(tmp, args.port_file)
        print(f"mongo-emulator listening on {args.host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
