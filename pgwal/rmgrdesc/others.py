"""Record-kind names of the resource managers without a full describer here.

Storage, CLOG, Database, Tablespace, MultiXact, RelMap, Hash, Gin, Gist,
Sequence, SPGist, BRIN, CommitTs, ReplicationOrigin, Generic and
LogicalMessage: their kinds (``*_identify``) for PostgreSQL 14 to 17. The
text after the kind is left empty for these (``pg_waldump`` prints more);
``pgwal.rmgrdesc.simple`` describes the short ones.
"""

from __future__ import annotations

STORAGE = {0x10: "CREATE", 0x20: "TRUNCATE"}
CLOG = {0x00: "ZEROPAGE", 0x10: "TRUNCATE"}
DATABASE_14 = {0x00: "CREATE", 0x10: "DROP"}
DATABASE_15 = {0x00: "CREATE_FILE_COPY", 0x10: "CREATE_WAL_LOG", 0x20: "DROP"}
TABLESPACE = {0x00: "CREATE", 0x10: "DROP"}
MULTIXACT = {0x00: "ZERO_OFF_PAGE", 0x10: "ZERO_MEM_PAGE", 0x20: "CREATE_ID", 0x30: "TRUNCATE_ID"}
RELMAP = {0x00: "UPDATE"}
HASH = {
    0x00: "INIT_META_PAGE",
    0x10: "INIT_BITMAP_PAGE",
    0x20: "INSERT",
    0x30: "ADD_OVFL_PAGE",
    0x40: "SPLIT_ALLOCATE_PAGE",
    0x50: "SPLIT_PAGE",
    0x60: "SPLIT_COMPLETE",
    0x70: "MOVE_PAGE_CONTENTS",
    0x80: "SQUEEZE_PAGE",
    0x90: "DELETE",
    0xA0: "SPLIT_CLEANUP",
    0xB0: "UPDATE_META_PAGE",
    0xC0: "VACUUM_ONE_PAGE",
}
GIN = {
    0x10: "CREATE_PTREE",
    0x20: "INSERT",
    0x30: "SPLIT",
    0x40: "VACUUM_PAGE",
    0x90: "VACUUM_DATA_LEAF_PAGE",
    0x50: "DELETE_PAGE",
    0x60: "UPDATE_META_PAGE",
    0x70: "INSERT_LISTPAGE",
    0x80: "DELETE_LISTPAGE",
}
GIST = {
    0x00: "PAGE_UPDATE",
    0x10: "DELETE",
    0x20: "PAGE_REUSE",
    0x30: "PAGE_SPLIT",
    0x60: "PAGE_DELETE",
    0x70: "ASSIGN_LSN",
}
SEQUENCE = {0x00: "LOG"}
SPGIST = {
    0x10: "ADD_LEAF",
    0x20: "MOVE_LEAFS",
    0x30: "ADD_NODE",
    0x40: "SPLIT_TUPLE",
    0x50: "PICKSPLIT",
    0x60: "VACUUM_LEAF",
    0x70: "VACUUM_ROOT",
    0x80: "VACUUM_REDIRECT",
}
BRIN = {
    0x00: "CREATE_INDEX",
    0x10: "INSERT",
    0x90: "INSERT+INIT",
    0x20: "UPDATE",
    0xA0: "UPDATE+INIT",
    0x30: "SAMEPAGE_UPDATE",
    0x40: "REVMAP_EXTEND",
    0x50: "DESUMMARIZE",
}
COMMIT_TS = {0x00: "ZEROPAGE", 0x10: "TRUNCATE"}
REPLICATION_ORIGIN = {0x00: "SET", 0x10: "DROP"}
GENERIC = {info: "Generic" for info in range(256)}
LOGICAL_MESSAGE = {0x00: "MESSAGE"}


def names(rmid: int, major: int) -> tuple[dict[int, str], int]:
    """(names by masked info, identify mask) of rmgr ``rmid`` (2..7, 12..21)."""
    table: dict[int, tuple[dict[int, str], int]] = {
        2: (STORAGE, 0xF0),
        3: (CLOG, 0xF0),
        4: (DATABASE_15 if major >= 15 else DATABASE_14, 0xF0),
        5: (TABLESPACE, 0xF0),
        6: (MULTIXACT, 0xF0),
        7: (RELMAP, 0xF0),
        12: (HASH, 0xF0),
        13: (GIN, 0xF0),
        14: (GIST, 0xF0),
        15: (SEQUENCE, 0xF0),
        16: (SPGIST, 0xF0),
        17: (BRIN, 0xF0),
        18: (COMMIT_TS, 0xFF),  # committs_identify switches on the unmasked info
        19: (REPLICATION_ORIGIN, 0xFF),  # so does replorigin_identify
        20: (GENERIC, 0xFF),
        21: (LOGICAL_MESSAGE, 0xF0),
    }
    return table[rmid]
