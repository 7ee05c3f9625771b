"""Real-world shaped SIP messages used by several tests (from RFC 3665 / RFC 4475 flows)."""

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n'
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 151\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.101\r\n"
    b"t=0 0\r\n"
    b"m=audio 49172 RTP/AVP 0\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
)

# RFC 4475 §3.1.1.1 "wsinv" flavour: compact forms, folding, odd spacing, several Vias per line.
COMPACT_FOLDED = (
    b"OPTIONS sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
    b"TO :\r\n"
    b" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n'
    b"  ;\r\n"
    b"  tag = 98asjd8\r\n"
    b"MaX-fOrWaRdS: 0068\r\n"
    b"Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
    b"cseq: 0009\r\n"
    b"  OPTIONS\r\n"
    b"Via  : SIP  /   2.0\r\n"
    b"  /UDP\r\n"
    b"    192.0.2.2;rport;branch=390skdjuw\r\n"
    b"v:  SIP/2.0/TCP spindle.example.com   ;\r\n"
    b"  branch  =   z9hG4bK9ikj8  ,\r\n"
    b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
    b" z9hG4bK30239\r\n"
    b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n'
    b"      newvalue ;\r\n"
    b"  secondparam ; q = 0.33\r\n"
    b"l: 0\r\n"
    b"\r\n"
)

REGISTER = (
    b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b"From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n"
    b"Call-ID: 843817637684230@998sdasdh09\r\n"
    b"CSeq: 1826 REGISTER\r\n"
    b"Contact: <sip:bob@192.0.2.4>;expires=7200, <sip:bob@192.0.2.5:5062>\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

RESPONSE_180 = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    b'From: "Alice" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n'
    b"To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n"
    b"Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:bob@client.biloxi.example.com>\r\n"
    b"Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

ALL = [INVITE, COMPACT_FOLDED, REGISTER, RESPONSE_180]
