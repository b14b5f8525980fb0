console.log('tapps-flow');
