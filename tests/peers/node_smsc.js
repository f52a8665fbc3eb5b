// An SMSC built on node-smpp (the `smpp` package from the npm registry): someone else's SMPP
// implementation, for proving mmsc's client against it. Prints one JSON line per event.
'use strict';
const smpp = require('smpp');

let nextId = 1;
const say = (event) => console.log(JSON.stringify(event));
const hex = (value) => Buffer.isBuffer(value) ? value.toString('hex')
  : Buffer.from(String(value), 'utf8').toString('hex');

const server = smpp.createServer((session) => {
  const bind = (pdu) => {
    if (pdu.system_id !== 'mmsc' || pdu.password !== 'secret') {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    session.send(pdu.response({ system_id: 'node-smpp' }));
  };
  session.on('bind_transceiver', bind);
  session.on('bind_transmitter', bind);
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
  session.on('submit_sm', (pdu) => {
    const id = 'N' + (nextId++);
    session.send(pdu.response({ message_id: id }));
    const sm = pdu.short_message || {};
    say({ event: 'submit', id, destination: pdu.destination_addr, dest_ton: pdu.dest_addr_ton,
          dest_npi: pdu.dest_addr_npi, source: pdu.source_addr, source_ton: pdu.source_addr_ton,
          source_npi: pdu.source_addr_npi, esm_class: pdu.esm_class,
          data_coding: pdu.data_coding, udh: (sm.udh || []).map(hex), message: hex(sm.message) });
    if (pdu.registered_delivery) {
      session.deliver_sm({
        source_addr: pdu.destination_addr, destination_addr: pdu.source_addr, esm_class: 4,
        short_message: `id:${id} sub:001 dlvrd:001 submit date:2611221200 ` +
                       `done date:2611221200 stat:DELIVRD err:000 text:`,
      });
    }
  });
});

server.listen(0, '127.0.0.1', () => say({ event: 'listening', port: server.address().port }));
