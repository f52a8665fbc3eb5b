// The live page follows the SMSC emulator's traffic: reload every two seconds.
"use strict";
if (document.querySelector("ol.sms")) {
  setTimeout(() => location.reload(), 2000);
}
