//! The golden history keeps its CIDs forever: a change here is a format break. The same CIDs
//! are listed in `docs/formats/graph-events.md`.

use cim_keys::domain::fixtures::golden_history;
use cim_keys::projection::{Chain, GraphProjector};

const DOMAIN: &[&str] = &[
    "bafyreieg3rvu6qg2orrwdcqpwtkptg7xfpsqiqvkexwn2ucb5is7uj2cai",
    "bafyreihibbt2blegu2ojdmfc2ekm633xl5fdxis2pw56fxjtjb7xjc3cty",
    "bafyreigqmugxyyyms322kckqai57rmodarufmxcbv3slzcfw4hnjxjw6oe",
    "bafyreib3nmlre6vehvmlclqqhrq64l2zyxewldghawu76ixw7rzaktiicy",
    "bafyreifydeu5g6mozs4oo3rvrikwk74fyoxavvgxvxlk7ld2wdylblf3tu",
    "bafyreidz6a6thzk5gnyndqtrufc43w64qrntwv2rf6byj3fj5twvxsbqcu",
    "bafyreiax425okgmwezhytrf2um6sakz5vynrioy5rope2cjlrokvqzvldy",
    "bafyreiemztu2yjlg3e2mvtocj2ync27u44caccxqg2vr3bobzbdnj5rwfm",
];

const GRAPH: &[&str] = &[
    "bafyreidp5kub4e55bsrrmey57i2z5bdkclaewkpca2vxomst37hlcgf4bm",
    "bafyreicdzmqwamfhsnvb6s5q2fnb6w4pxft2z6nxsocudhmnlhidr53qiq",
    "bafyreihocwyonvp5rzlm43krwvwmwkokixi7xqzrbco5eb4y66ero3fkda",
    "bafyreidgb6klr7knmyhadevpneukjnsnejcg65bh3resrr6vrcbsuk62mu",
    "bafyreieo44tig2ugf7pjmzpcnprictzxkyc5mvyc42q4jfloazy6mskcme",
    "bafyreid7r6c4wreqab3u5hvqpjcxt4iexoclgudymdg3gxsg5ermedoxsy",
    "bafyreico3yiw5krn4ilpfk2ncn6wwoy3q7jat2xt77txjfkwyffmv5zyii",
    "bafyreifli3n7qgqv5stnkrz67fgguv6g5c5fjktnxdokuqimynv4osom4a",
    "bafyreigexwkvz3dvjeksz2yqn67x4pclnjbpj7jnjkbwctzok5c7yxeoa4",
    "bafyreihrn7iledikwhk26b7uiy3wz5eq2noyye3z3awskkyoetqa2paux4",
    "bafyreiehev72pi2wctpfsiwobrlycnnpoqo6in5ltb45coush3bry2qig4",
    "bafyreigxazkvyqa3ptnesulwxtb5fi6uueiut6s44hgyjvpnqca2yq4gye",
];

fn computed() -> (Vec<String>, Vec<String>) {
    let lifted = GraphProjector.lift_all(&golden_history()).unwrap();
    let domain = lifted.iter().map(|l| l.domain.cid.to_string()).collect();
    let mut chain = Chain::default();
    let graph = lifted.iter().flat_map(|l| l.graph.iter()).map(|g| chain.link(g).unwrap().cid.to_string()).collect();
    (domain, graph)
}

#[test]
fn golden_cids_are_stable() {
    let (domain, graph) = computed();
    assert_eq!(domain, DOMAIN, "domain event CIDs changed: a format break");
    assert_eq!(graph, GRAPH, "graph event CIDs changed: a format break");
}

#[test]
fn golden_cids_are_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/formats/graph-events.md")).unwrap();
    for cid in DOMAIN.iter().chain(GRAPH) {
        assert!(doc.contains(cid), "docs/formats/graph-events.md does not list {cid}");
    }
}
