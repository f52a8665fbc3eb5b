// The live page follows the SMSC emulators' traffic: reload every two seconds, but not while
// the operator is choosing a fault in one of its forms.
"use strict";
if (document.querySelector("ol.sms")) {
  const follow = () => {
    if (document.activeElement && document.activeElement.closest("form")) {
      setTimeout(follow, 2000);
    } else {
      location.reload();
    }
  };
  setTimeout(follow, 2000);
}
